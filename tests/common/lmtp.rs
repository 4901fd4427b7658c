//! A small LMTP client (RFC 2033) for tests, over TCP or a unix socket.
//!
//! It speaks the protocol as an MTA does: LHLO, MAIL, one RCPT per recipient, DATA with the message
//! in wire form (CRLF line ends, dot-stuffed), then one reply per recipient accepted at RCPT.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

/// One reply: the code and the text of its last line (enhanced status code included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    /// `"250 2.0.0 <a@b> delivered"`.
    pub fn line(&self) -> String {
        format!("{} {}", self.code, self.text)
    }

    /// True if the reply starts with this code and enhanced status code, e.g. `starts("451 4.3.0")`.
    pub fn starts(&self, prefix: &str) -> bool {
        self.line().starts_with(prefix)
    }
}

/// The final reply for each recipient of one transaction, in the order given: the RCPT reply for a
/// recipient refused there, the reply after DATA for one accepted there.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub rcpt: Vec<Reply>,
    pub finals: Vec<Reply>,
}

/// The bytes okapi stores for `raw`: what an LMTP client must put on the wire, before dot-stuffing.
/// Bare LF becomes CRLF (SMTP and LMTP carry CRLF lines only), and a missing final line end is
/// added. A message already in that form is unchanged.
pub fn canonical(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40 + 2);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        if out.ends_with(b"\r") {
            out.push(b'\n');
        } else {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// `canonical(raw)` dot-stuffed and terminated with `.` CRLF: the DATA stream.
pub fn wire(raw: &[u8]) -> Vec<u8> {
    let canon = canonical(raw);
    let mut out = Vec::with_capacity(canon.len() + 16);
    let mut line_start = true;
    for &b in &canon {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out.extend_from_slice(b".\r\n");
    out
}

pub struct Client<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
}

impl Client<tokio::net::TcpStream> {
    /// Connects over TCP, reads the greeting and says LHLO.
    pub async fn tcp(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        Self::start(s).await
    }
}

impl Client<tokio::net::UnixStream> {
    /// Connects over a unix socket, reads the greeting and says LHLO.
    pub async fn unix(path: &std::path::Path) -> std::io::Result<Self> {
        let s = tokio::net::UnixStream::connect(path).await?;
        Self::start(s).await
    }
}

fn broken(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

impl<S: AsyncRead + AsyncWrite> Client<S> {
    async fn start(stream: S) -> std::io::Result<Self> {
        let (r, w) = tokio::io::split(stream);
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
        };
        let greeting = c.reply().await?;
        if greeting.code != 220 {
            return Err(broken(format!("greeting {greeting:?}")));
        }
        let lhlo = c.command("LHLO test.example").await?;
        if lhlo.code != 250 {
            return Err(broken(format!("LHLO {lhlo:?}")));
        }
        Ok(c)
    }

    /// Reads one (possibly multi-line) reply.
    pub async fn reply(&mut self) -> std::io::Result<Reply> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| broken(format!("garbled reply {line:?}")))?;
            match line.as_bytes().get(3) {
                Some(b'-') => continue,
                _ => {
                    return Ok(Reply {
                        code,
                        text: line.get(4..).unwrap_or_default().to_string(),
                    });
                }
            }
        }
    }

    /// Sends one command line and reads its reply.
    pub async fn command(&mut self, line: &str) -> std::io::Result<Reply> {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).await?;
        self.writer.flush().await?;
        self.reply().await
    }

    /// One transaction: MAIL FROM `from` (`""` for the null sender), RCPT for each recipient, DATA
    /// with `raw` (any line ends; it is put in wire form here) unless no recipient was accepted.
    pub async fn send(&mut self, from: &str, rcpts: &[&str], raw: &[u8]) -> std::io::Result<Outcome> {
        let mail = self.command(&format!("MAIL FROM:<{from}>")).await?;
        if mail.code != 250 {
            return Err(broken(format!("MAIL FROM {mail:?}")));
        }
        let mut rcpt = Vec::new();
        for r in rcpts {
            rcpt.push(self.command(&format!("RCPT TO:<{r}>")).await?);
        }
        let mut finals = rcpt.clone();
        let accepted: Vec<usize> = (0..rcpt.len()).filter(|&i| rcpt[i].code == 250).collect();
        if accepted.is_empty() {
            self.command("RSET").await?;
            return Ok(Outcome { rcpt, finals });
        }
        let data = self.command("DATA").await?;
        if data.code != 354 {
            return Err(broken(format!("DATA {data:?}")));
        }
        self.writer.write_all(&wire(raw)).await?;
        self.writer.flush().await?;
        for i in accepted {
            finals[i] = self.reply().await?;
        }
        Ok(Outcome { rcpt, finals })
    }

    /// Writes bytes as they are (a DATA stream from [`wire`], or anything else).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await
    }

    /// QUIT.
    pub async fn quit(mut self) {
        let _ = self.command("QUIT").await;
    }
}
