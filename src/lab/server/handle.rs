//! The handle of a running echo server: where it listens, what its threads
//! have counted, and how it stops (through the lab's one [`Stopper`]).
//! Every concurrency model starts its threads here, so every server stops
//! the same way.

use std::io;
use std::net::SocketAddr;
use std::ops::Add;
use std::sync::Arc;

use super::echo::{Counters, ServerStats};
use crate::lab::stop::Stopper;

/// A receiving thread about to be started: its name, its counters and its
/// loop (which owns its socket, so the socket closes when the loop ends).
pub(crate) struct WorkerThread {
    pub(crate) name: String,
    pub(crate) counters: Arc<Counters>,
    pub(crate) body: Box<dyn FnOnce() + Send>,
}

/// A running server. Dropping it shuts the server down too (its
/// [`Stopper`] stops the threads).
pub struct ServerHandle {
    addr: SocketAddr,
    counters: Vec<Arc<Counters>>,
    threads: Stopper,
}

impl ServerHandle {
    /// Starts `workers` (built around the stop flag of `threads`), serving
    /// on `addr`. If one cannot be started, those already running are stopped
    /// again (the handle is dropped).
    pub(crate) fn launch(
        addr: SocketAddr,
        threads: Stopper,
        workers: Vec<WorkerThread>,
    ) -> io::Result<ServerHandle> {
        let mut handle = ServerHandle {
            addr,
            counters: Vec::with_capacity(workers.len()),
            threads,
        };
        for worker in workers {
            handle.counters.push(Arc::clone(&worker.counters));
            handle.threads.spawn(worker.name, worker.body)?;
        }
        Ok(handle)
    }

    /// The address the server is bound to (with the port the OS chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server has counted so far, all its threads added up.
    pub fn stats(&self) -> ServerStats {
        self.worker_stats()
            .into_iter()
            .fold(ServerStats::default(), Add::add)
    }

    /// What each receiving thread (each socket, for the `reuseport` model)
    /// has counted so far, in the order the threads were started.
    pub fn worker_stats(&self) -> Vec<ServerStats> {
        self.counters.iter().map(|c| c.snapshot()).collect()
    }

    /// Stops the server, waits for its threads, and returns its final counts.
    /// Never hangs: see [`crate::lab::stop`]. Requests still queued are not
    /// served; handler threads already started are joined, so the final
    /// counters are complete.
    pub fn shutdown(mut self) -> ServerStats {
        self.threads.stop();
        self.stats()
    }
}
