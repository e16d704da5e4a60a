//! A small HTTP/1.1 load generator: closed loop over keep-alive connections, and a fixed rate
//! for latency.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const REQUEST: &[u8] =
    b"GET /bench HTTP/1.1\r\nhost: moonshift.bench\r\nuser-agent: moonshift-bench\r\n\r\n";

/// One keep-alive connection: sends a request and reads the whole response.
struct Connection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Self {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    /// One request/response; the status code.
    fn exchange(&mut self) -> std::io::Result<u16> {
        self.writer.write_all(REQUEST)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// Closed loop: `connections` clients each send the next request when the last one is answered,
/// for `duration`. Returns (requests answered with 200, requests answered otherwise).
pub fn closed_loop(port: u16, connections: usize, duration: Duration) -> (u64, u64) {
    let deadline = Instant::now() + duration;
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let (mut ok, mut other) = (0u64, 0u64);
                let Ok(mut connection) = Connection::open(port) else {
                    return (0, 1);
                };
                while Instant::now() < deadline {
                    match connection.exchange() {
                        Ok(200) => ok += 1,
                        Ok(_) => other += 1,
                        Err(_) => {
                            other += 1;
                            match Connection::open(port) {
                                Ok(c) => connection = c,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (ok, other)
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|t| t.join().ok())
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
}

/// Fixed rate on one connection: a request every `1 / rate` seconds for `duration`; latencies in
/// microseconds, sorted.
pub fn fixed_rate(port: u16, rate: u32, duration: Duration) -> Vec<u64> {
    let Ok(mut connection) = Connection::open(port) else {
        return Vec::new();
    };
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut next = start;
    let mut latencies = Vec::new();
    while next < start + duration {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        }
        // Latency counts from when the request was due, so a slow answer delays its successors
        // without hiding them (no coordinated omission).
        let due = next;
        if connection.exchange().is_ok() {
            latencies.push(u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        next += interval;
    }
    latencies.sort_unstable();
    latencies
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted
        .get(rank.min(sorted.len() - 1))
        .copied()
        .unwrap_or_default()
}
