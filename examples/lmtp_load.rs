//! LMTP load generator for `bench/lmtp`: delivers N messages over C parallel LMTP connections and
//! prints messages per second.
//!
//! ```text
//! cargo run --release --example lmtp_load -- --addr 127.0.0.1:2003 --messages 2000 \
//!     --connections 4 --rcpt u1@bench.test,u2@bench.test [--size 4096] [--lhlo bench.client]
//! ```
//!
//! Each connection delivers its share of the N messages (N / C, the first N % C connections one
//! more), one transaction per message with one `RCPT TO` (the recipients taken in turn), using
//! PIPELINING: `MAIL`, `RCPT` and `DATA` go out in one write, then the message. A message counts
//! only when its recipient got `250` after the message, i.e. the server said it is stored. Every
//! message is different (Message-ID, Date, subject and body vary) and about `--size` bytes, with
//! the headers a message carries after a trip through an MTA. The last line is machine-readable:
//! `RESULT messages=... failed=... seconds=... rate=... p50_ms=... p99_ms=...`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// What to run.
#[derive(Debug, Clone)]
struct Options {
    addr: String,
    messages: usize,
    connections: usize,
    recipients: Vec<String>,
    size: usize,
    lhlo: String,
    sender: String,
}

fn usage() -> &'static str {
    "usage: lmtp_load --addr HOST:PORT --messages N --connections C --rcpt ADDR[,ADDR...] \
     [--size BYTES] [--lhlo NAME] [--sender ADDR]"
}

fn parse_options() -> Result<Options, String> {
    let mut o = Options {
        addr: String::new(),
        messages: 2000,
        connections: 1,
        recipients: Vec::new(),
        size: 4096,
        lhlo: "bench.client".to_string(),
        sender: "sender@bench.example".to_string(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, v: String| v.parse::<usize>().map_err(|_| format!("{name}: not a number: {v}"));
        match arg.as_str() {
            "--addr" => o.addr = value("--addr")?,
            "--messages" | "-n" => o.messages = number("--messages", value("--messages")?)?,
            "--connections" | "-c" => o.connections = number("--connections", value("--connections")?)?,
            "--rcpt" => o.recipients.extend(
                value("--rcpt")?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            "--size" => o.size = number("--size", value("--size")?)?,
            "--lhlo" => o.lhlo = value("--lhlo")?,
            "--sender" => o.sender = value("--sender")?,
            "--help" | "-h" => return Err(usage().to_string()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    if o.addr.is_empty() || o.recipients.is_empty() || o.connections == 0 || o.messages == 0 {
        return Err(usage().to_string());
    }
    Ok(o)
}

/// A message of about `size` bytes, dot-stuffed and CRLF-terminated for DATA (without the final
/// `.` line). Lines never start with `.`, so no stuffing is needed.
fn message(o: &Options, conn: usize, seq: usize, rcpt: &str) -> Vec<u8> {
    let now = time::OffsetDateTime::now_utc();
    let date = now
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|_| "Mon, 1 Jan 2024 00:00:00 +0000".to_string());
    let id = format!("{conn}.{seq}.{}", now.unix_timestamp_nanos());
    let mut m = format!(
        "Return-Path: <{sender}>\r\n\
         Received: from mx.bench.example (mx.bench.example [192.0.2.10])\r\n\
         \tby mail.bench.test (Postfix) with ESMTPS id 4Q{seq:08X}\r\n\
         \tfor <{rcpt}>; {date}\r\n\
         Received: from [198.51.100.7] (client.bench.example [198.51.100.7])\r\n\
         \tby mx.bench.example with ESMTPSA id {conn:04x}{seq:06x}; {date}\r\n\
         DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=bench.example; s=mail;\r\n\
         \tt=1700000000; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
         \th=From:To:Subject:Date:Message-ID;\r\n\
         \tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwgb25seSBzb21lIGJ5dGVzIG9mIHRoZSByaWdodCBzaXpl\r\n\
         From: \"Bench Sender\" <{sender}>\r\n\
         To: <{rcpt}>\r\n\
         Subject: Quarterly figures, part {seq} (connection {conn})\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}@bench.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8; format=flowed\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         X-Mailer: lmtp_load\r\n\
         \r\n",
        sender = o.sender,
    );
    let words = [
        "the",
        "quarterly",
        "figures",
        "are",
        "attached",
        "below",
        "and",
        "show",
        "growth",
        "in",
        "every",
        "region",
        "except",
        "the",
        "north",
        "where",
        "sales",
        "fell",
        "slightly",
        "Grüße",
    ];
    let mut line = String::new();
    let mut i = seq.wrapping_mul(7).wrapping_add(conn);
    while m.len() < o.size {
        let w = words[i % words.len()];
        i = i.wrapping_add(3);
        if line.len() + w.len() + 1 > 72 {
            m.push_str(&line);
            m.push_str("\r\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    m.push_str(&line);
    m.push_str("\r\n");
    m.into_bytes()
}

/// Reads one (possibly multi-line) reply; returns its code and the whole text.
async fn read_reply(r: &mut BufReader<tokio::io::ReadHalf<TcpStream>>) -> Result<(u16, String), String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("connection closed; so far: {text:?}"));
        }
        text.push_str(&line);
        if line.len() < 4 {
            return Err(format!("short reply line {line:?}"));
        }
        if line.as_bytes()[3] != b'-' {
            let code = line[..3].parse::<u16>().map_err(|_| format!("bad reply {line:?}"))?;
            return Ok((code, text));
        }
    }
}

async fn expect(r: &mut BufReader<tokio::io::ReadHalf<TcpStream>>, code: u16, what: &str) -> Result<(), String> {
    let (got, text) = read_reply(r).await?;
    if got != code {
        return Err(format!("{what}: expected {code}, got {}", text.trim_end()));
    }
    Ok(())
}

/// What one connection did.
#[derive(Debug, Default)]
struct Done {
    delivered: usize,
    failed: usize,
    latencies: Vec<Duration>,
}

async fn run_connection(o: Arc<Options>, conn: usize, share: usize, messages: Vec<Vec<u8>>) -> Result<Done, String> {
    let stream = TcpStream::connect(&o.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", o.addr))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (r, mut w) = tokio::io::split(stream);
    let mut r = BufReader::new(r);
    expect(&mut r, 220, "greeting").await?;
    w.write_all(format!("LHLO {}\r\n", o.lhlo).as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let (code, lhlo) = read_reply(&mut r).await?;
    if code != 250 {
        return Err(format!("LHLO: expected 250, got {}", lhlo.trim_end()));
    }
    // SIZE= only where the server advertises it (Dovecot's LMTP does not).
    let size_ext = lhlo
        .lines()
        .any(|l| l.get(4..).is_some_and(|e| e.to_ascii_uppercase().starts_with("SIZE")));
    let mut done = Done::default();
    for (seq, body) in messages.into_iter().enumerate().take(share) {
        let rcpt = &o.recipients[(conn + seq * o.connections) % o.recipients.len()];
        let started = Instant::now();
        let size = if size_ext {
            format!(" SIZE={}", body.len())
        } else {
            String::new()
        };
        let head = format!("MAIL FROM:<{}>{size}\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n", o.sender);
        w.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
        expect(&mut r, 250, "MAIL FROM").await?;
        let (rcpt_code, rcpt_text) = read_reply(&mut r).await?;
        let (data_code, data_text) = read_reply(&mut r).await?;
        if rcpt_code != 250 || data_code != 354 {
            // RCPT refused: DATA gets 503/554; nothing to send.
            done.failed += 1;
            eprintln!("lmtp_load: {rcpt}: {} / {}", rcpt_text.trim_end(), data_text.trim_end());
            if data_code == 354 {
                w.write_all(b".\r\n").await.map_err(|e| e.to_string())?;
                let _ = read_reply(&mut r).await?;
            }
            continue;
        }
        w.write_all(&body).await.map_err(|e| e.to_string())?;
        w.write_all(b".\r\n").await.map_err(|e| e.to_string())?;
        let (code, text) = read_reply(&mut r).await?;
        if code == 250 {
            done.delivered += 1;
            done.latencies.push(started.elapsed());
        } else {
            done.failed += 1;
            eprintln!("lmtp_load: {rcpt}: {}", text.trim_end());
        }
    }
    w.write_all(b"QUIT\r\n").await.map_err(|e| e.to_string())?;
    let _ = read_reply(&mut r).await;
    Ok(done)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match parse_options() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(64);
        }
    };
    // Messages are built before the clock starts.
    let mut work = Vec::new();
    for conn in 0..o.connections {
        let share = o.messages / o.connections + usize::from(conn < o.messages % o.connections);
        let msgs = (0..share)
            .map(|seq| {
                let rcpt = &o.recipients[(conn + seq * o.connections) % o.recipients.len()];
                message(&o, conn, seq, rcpt)
            })
            .collect::<Vec<_>>();
        work.push((conn, share, msgs));
    }
    let bytes: usize = work.iter().flat_map(|w| w.2.iter()).map(Vec::len).sum();
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(conn, share, msgs)| tokio::spawn(run_connection(o.clone(), conn, share, msgs)))
        .collect();
    let mut total = Done::default();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(d)) => {
                total.delivered += d.delivered;
                total.failed += d.failed;
                total.latencies.extend(d.latencies);
            }
            Ok(Err(e)) => {
                errors += 1;
                eprintln!("lmtp_load: connection failed: {e}");
            }
            Err(e) => {
                errors += 1;
                eprintln!("lmtp_load: task failed: {e}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    total.latencies.sort();
    let rate = total.delivered as f64 / secs;
    println!(
        "{} messages ({:.1} KiB average) over {} connection(s) to {}: {} delivered, {} failed in {:.2} s = {:.1} msg/s",
        o.messages,
        bytes as f64 / o.messages as f64 / 1024.0,
        o.connections,
        o.addr,
        total.delivered,
        total.failed,
        secs,
        rate
    );
    println!(
        "RESULT messages={} failed={} seconds={:.3} rate={:.1} p50_ms={:.2} p99_ms={:.2}",
        total.delivered,
        total.failed + (o.messages - total.delivered - total.failed),
        secs,
        rate,
        percentile(&total.latencies, 0.5),
        percentile(&total.latencies, 0.99)
    );
    if errors > 0 || total.delivered != o.messages {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
