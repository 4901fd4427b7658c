//! The web app's static files at `/webapp/`, for a server run from a checkout
//! or without Apache. (The packages let Apache serve the same files.)
//!
//! Only regular files inside `webapp_dir` are served: no `..`, no hidden
//! files, and a symbolic link that leads outside the directory is refused.
//! Every answer carries the web app's Content-Security-Policy.

use std::path::{Component, Path, PathBuf};

use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, HeaderValue, LOCATION};

use super::{Reply, reply};

/// The web app's policy: its own scripts and styles only, no inline script,
/// nothing may frame it. Apache's configuration (apache/okapi-webapp.conf)
/// sends the same header.
pub const WEBAPP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; \
     object-src 'none'";

/// Serves `GET /webapp...` from `dir`.
pub async fn serve(dir: Option<&Path>, path: &str) -> Reply {
    let Some(dir) = dir else {
        return not_found("this server serves no web app (webapp_dir is empty)");
    };
    if path == "/webapp" {
        let mut r = reply(
            StatusCode::MOVED_PERMANENTLY,
            "text/plain; charset=utf-8",
            "see /webapp/\n",
        );
        r.headers_mut().insert(LOCATION, HeaderValue::from_static("/webapp/"));
        return r;
    }
    let rel = path.trim_start_matches("/webapp/");
    let Some(file) = resolve(dir, rel) else {
        return not_found("no such file in the web app");
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut r = reply(StatusCode::OK, content_type(&file), bytes);
            webapp_headers(r.headers_mut());
            r
        }
        Err(e) => {
            tracing::warn!(file = %file.display(), error = %e, "cannot read a web app file");
            not_found("no such file in the web app")
        }
    }
}

/// Headers every web app page carries.
pub fn webapp_headers(h: &mut hyper::HeaderMap) {
    h.insert("content-security-policy", HeaderValue::from_static(WEBAPP_CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    // Revalidate each time: an upgrade must not leave a browser on old modules.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

fn not_found(why: &'static str) -> Reply {
    let mut r = reply(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", format!("{why}\n"));
    webapp_headers(r.headers_mut());
    r
}

/// The file a request path names, if it is a regular file inside `dir`.
fn resolve(dir: &Path, rel: &str) -> Option<PathBuf> {
    let rel = rel.split(['?', '#']).next().unwrap_or("");
    let mut path = dir.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            Component::Normal(p) if !p.to_string_lossy().starts_with('.') => path.push(p),
            _ => return None,
        }
    }
    let root = dir.canonicalize().ok()?;
    let mut real = path.canonicalize().ok()?;
    if real.is_dir() {
        real = real.join("index.html").canonicalize().ok()?;
    }
    (real.starts_with(&root) && real.is_file()).then_some(real)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_directory() {
        let d = std::env::temp_dir().join(format!("okapi-assets-{}", std::process::id()));
        std::fs::create_dir_all(d.join("js")).unwrap();
        std::fs::write(d.join("index.html"), "x").unwrap();
        std::fs::write(d.join("js/app.js"), "x").unwrap();
        std::fs::write(d.join(".secret"), "x").unwrap();
        let _ = std::os::unix::fs::symlink("/etc/passwd", d.join("passwd"));
        assert_eq!(resolve(&d, "js/app.js"), d.join("js/app.js").canonicalize().ok());
        assert_eq!(resolve(&d, ""), d.join("index.html").canonicalize().ok());
        assert_eq!(resolve(&d, "js/"), None);
        assert_eq!(resolve(&d, "../etc/passwd"), None);
        assert_eq!(resolve(&d, "js/../../x"), None);
        assert_eq!(resolve(&d, ".secret"), None);
        assert_eq!(resolve(&d, "passwd"), None);
        assert_eq!(resolve(&d, "/etc/passwd"), None);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn types() {
        assert_eq!(content_type(Path::new("a.js")), "text/javascript; charset=utf-8");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
