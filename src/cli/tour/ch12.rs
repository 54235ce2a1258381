//! Tour block for chapter 12: retries, sequence numbers and stop-and-wait
//! make a lossy relay reliable.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use udp_lab::lab::relay::{self, Impairments};
use udp_lab::lab::reliable::{self, Client, RetryPolicy, StopAndWait, StreamReceiver, Unchecked};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};

use super::Report;

fn lossy() -> Impairments {
    Impairments::seeded(12)
        .loss(0.2)
        .duplicate(0.05)
        .reorder(4, 0.2)
        .hold(Duration::from_millis(30))
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        first_timeout: Duration::from_millis(20),
        max_timeout: Duration::from_millis(200),
        attempts: 40,
    }
}

/// Ten requests and a 32 KiB stream through 20% loss, duplication and reordering.
pub fn demo() -> io::Result<Report> {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let relay = relay::spawn(Family::V4.any_port(), echo.local_addr(), lossy())?;
    let mut client = Client::new(net::bind_loopback(Family::V4)?, relay.local_addr(), retry());
    let mut right = 0;
    for i in 1..=10 {
        let reply = client.request(format!("request {i}").as_bytes())?;
        right += usize::from(reply.payload == format!("REQUEST {i}").as_bytes());
    }
    let dropped = relay.shutdown();
    let data: Vec<u8> = (0..32 * 1024)
        .map(|i: usize| (i * 7 + i / 256) as u8)
        .collect();
    let (received, retransmissions) = stream_through_lossy_relay(&data)?;
    Ok(Report {
        lines: vec![
            format!("relay both ways: {}", lossy()),
            format!(
                "10 requests, {right} got their own reply; the relay dropped {} requests and {} replies, the client \
                 retried {} times and dropped {} stale replies",
                dropped.to_server.dropped,
                dropped.to_client.dropped,
                client.stats().retries,
                client.stats().stale
            ),
            format!(
                "stop-and-wait: {} of {} bytes arrived, intact and in order: {} ({retransmissions} retransmissions)",
                received.len(),
                data.len(),
                received == data
            ),
        ],
        held: right == 10 && received == data,
    })
}

/// Sends `data` with stop-and-wait through a lossy relay; returns what the
/// receiver assembled and how many retransmissions it took.
fn stream_through_lossy_relay(data: &[u8]) -> io::Result<(Vec<u8>, u64)> {
    let receiver = net::bind_loopback(Family::V4)?;
    let relay = relay::spawn(Family::V4.any_port(), receiver.local_addr()?, lossy())?;
    let sender = net::bind_loopback(Family::V4)?;
    let settings = StopAndWait {
        chunk_size: 4096,
        retry: retry(),
    };
    let done = AtomicBool::new(false);
    thread::scope(|scope| {
        let receiving = scope.spawn(|| {
            let mut end = StreamReceiver::new(&receiver, &Unchecked);
            let data = end.receive();
            end.linger(net::DEFAULT_TIMEOUT, || done.load(Ordering::SeqCst))?;
            data
        });
        let sent = reliable::send_stream(&sender, relay.local_addr(), data, &settings, &Unchecked);
        done.store(true, Ordering::SeqCst);
        let received = receiving
            .join()
            .map_err(|_| io::Error::other("the receiver thread panicked"))??;
        Ok((received, sent?.retransmissions))
    })
}
