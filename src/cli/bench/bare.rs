//! The baseline every model is compared with: the plainest single-threaded
//! `recv_from`/`send_to` loop, with no counters, no logging and no
//! allocation per datagram. `udp-lab bench --model bare` runs it in a child
//! process (`--serve-bare`), `--in-process` in a thread of its own.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};

use udp_lab::lab::stop::{Stopper, STOP_POLL};
use udp_lab::net;

use crate::cli::send::{resolve, say};
use crate::cli::{Failure, Outcome};

/// The bare loop running in a thread of this process; dropping it stops it.
pub struct BareServer {
    addr: SocketAddr,
    /// Held to be dropped: stopping it stops the loop (flag, wake-up, join).
    _thread: Stopper,
}

impl BareServer {
    /// Starts the bare loop on `bind` (port 0: the OS chooses).
    pub fn spawn(bind: SocketAddr) -> io::Result<BareServer> {
        let sock = net::bind(bind)?;
        sock.set_read_timeout(Some(STOP_POLL))?;
        let addr = sock.local_addr()?;
        let mut thread = Stopper::new(addr, STOP_POLL);
        let stop = thread.flag();
        thread.spawn("bare".to_string(), move || serve(&sock, &stop))?;
        Ok(BareServer {
            addr,
            _thread: thread,
        })
    }

    /// Where the bare loop listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The bare loop itself: receive, upper-case in place, send back, until
/// `stop` is set (checked after every datagram and every read timeout of
/// `sock`).
pub fn serve(sock: &UdpSocket, stop: &AtomicBool) {
    let mut buf = vec![0u8; udp_lab::recv::MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        buf[..n].make_ascii_uppercase();
        let _ = sock.send_to(&buf[..n], from);
    }
}

/// `--serve-bare ADDR`: the bare loop as a process, until it is killed. Its
/// first line says where it listens, as `udp-lab serve`'s does.
pub fn serve_as_process(bind: &str) -> Outcome {
    let bind = resolve("--serve-bare", bind)?;
    let setup = || Failure::setup(format!("cannot serve on {bind}"));
    let sock = net::bind(bind).map_err(setup())?;
    sock.set_read_timeout(None).map_err(setup())?;
    let addr = sock.local_addr().map_err(setup())?;
    // `say`, not `println!`: the parent may stop reading, and a closed
    // pipe must not panic the loop it is about to measure.
    say(&format!("listening on {addr}"));
    let never = AtomicBool::new(false);
    serve(&sock, &never);
    Ok(())
}
