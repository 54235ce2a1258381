//! The async models on tokio (cargo feature `tokio`): the same
//! receive-answer loop as `single`, written as a task that `.await`s its
//! datagram instead of a thread blocked in `recv_from`.
//!
//! - `tokio`: a current-thread runtime on one thread (named `tokio`), one
//!   task. Its replies name `tokio`.
//! - `tokio-multi`: a multi-thread runtime with N worker threads and N
//!   tasks sharing one socket (the async `pool`); each task's replies name
//!   it, `tokio-multi-1` to `tokio-multi-N`. A task is not tied to a
//!   thread (tokio moves tasks between its workers), so the name is the
//!   task's.
//!
//! What async changes: a waiting task costs a few hundred bytes, not a
//! thread, so one thread can wait on thousands of sockets and timers. What
//! it does not change: each datagram still costs a `recvfrom` and a
//! `sendto` (tokio makes the very same system calls on a non-blocking
//! socket; each time the socket runs dry, one more `recvfrom` that fails
//! with `EAGAIN`, then `epoll_wait`).
//!
//! # Sending through a second descriptor
//! A reply is sent by the lab's one [`Responder`] (so counters, observer and
//! planted bugs behave as in every other model), which takes a std socket:
//! a `try_clone` of the served socket, non-blocking like it. That is the
//! `sendto` tokio's own `send_to` makes first; tokio would then wait on
//! `WouldBlock`, this model does not. A loopback send rarely returns it:
//! only when the socket's send buffer (`SO_SNDBUF`) is exhausted, and
//! loopback releases a datagram's share of it within the `sendto` that
//! hands it on, so it takes several large sends at once on one descriptor,
//! as `tokio-multi`'s N tasks (one shared socket) can make. Such a reply is
//! counted as a send error (not sent), as a failed `sendto` is in every
//! model, instead of awaited.
//!
//! # Stopping
//! The host thread is started by the lab's [`Stopper`](crate::lab::stop::Stopper)
//! like any other model's. Its wake-up datagram ends the task's
//! `recv_from(..).await`; the task sees the stop flag and ends, and the host
//! drops the runtime (cancelling any other task at its `.await`, which
//! closes the socket). The socket is non-blocking, so it has no read
//! timeout: if a wake-up is lost, the stopper sends another after two
//! polls, so no timer (tokio's feature `time`) is needed.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use tokio::runtime::{Builder, Runtime};

use super::{stops_here, Model, ServerConfig};
use crate::lab::planted;
use crate::lab::server::echo::{Counters, Responder};
use crate::lab::server::handle::WorkerThread;
use crate::net;
use crate::recv::MAX_DATAGRAM;

/// The host thread of a tokio model serving `sock`: it owns the runtime,
/// and ends (socket closed) once the stop flag is seen.
pub(super) fn worker(
    config: &ServerConfig,
    sock: UdpSocket,
    stop: Arc<AtomicBool>,
) -> io::Result<WorkerThread> {
    let runtime = runtime(config)?;
    sock.set_nonblocking(true)?; // tokio needs it; the reply clone shares it
    let replies = Arc::new(sock.try_clone()?);
    let sock = {
        let _inside = runtime.enter(); // from_std registers with this runtime
        Arc::new(tokio::net::UdpSocket::from_std(sock)?)
    };
    let counters = Arc::new(Counters::default());
    let tasks = Tasks {
        sock,
        replies,
        stop,
        config: config.clone(),
        counters: Arc::clone(&counters),
    };
    let body: Box<dyn FnOnce() + Send> = match config.model {
        Model::TokioMulti => Box::new(move || tasks.run_many(runtime)),
        _ => Box::new(move || tasks.run_one(&runtime)),
    };
    Ok(WorkerThread {
        name: config.model.name().to_string(),
        counters,
        body,
    })
}

/// The runtime of the model: current-thread for `tokio`, `workers` worker
/// threads (`tokio-multi-worker-N`) for `tokio-multi`. Only the I/O driver
/// is enabled: no timers.
fn runtime(config: &ServerConfig) -> io::Result<Runtime> {
    let built = match config.model {
        Model::TokioMulti => {
            let next = AtomicUsize::new(1);
            Builder::new_multi_thread()
                .worker_threads(config.workers.max(1))
                .thread_name_fn(move || {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    format!("tokio-multi-worker-{n}")
                })
                .enable_io()
                .build()
        }
        _ => Builder::new_current_thread().enable_io().build(),
    };
    built.map_err(|e| net::context(e, "starting the tokio runtime"))
}

/// What every task of one server shares.
struct Tasks {
    sock: Arc<tokio::net::UdpSocket>,
    replies: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    config: ServerConfig,
    counters: Arc<Counters>,
}

impl Tasks {
    /// A responder named `name` counting into the server's counters.
    fn responder(&self, name: String) -> Responder {
        let config = &self.config;
        Responder::new(
            config.reply,
            name,
            Arc::clone(&self.counters),
            config.observer.clone(),
        )
    }

    /// `tokio`: the one task runs on this thread until it ends.
    fn run_one(self, runtime: &Runtime) {
        let responder = self.responder(Model::Tokio.name().to_string());
        runtime.block_on(serve(&self.sock, &self.replies, &self.stop, responder));
    }

    /// `tokio-multi`: `workers` tasks on the runtime's threads; this thread
    /// waits until one of them ends (the one the wake-up reached), then
    /// drops the runtime, which cancels the others and closes the socket.
    fn run_many(self, runtime: Runtime) {
        let (ended, first_end) = mpsc::channel::<()>();
        for i in 1..=self.config.workers.max(1) {
            let responder = self.responder(format!("{}-{i}", Model::TokioMulti));
            let (sock, replies) = (Arc::clone(&self.sock), Arc::clone(&self.replies));
            let (stop, ended) = (Arc::clone(&self.stop), ended.clone());
            runtime.spawn(async move {
                serve(&sock, &replies, &stop, responder).await;
                let _ = ended.send(()); // a panicking task drops `ended` instead
            });
        }
        drop((ended, self)); // only the tasks hold the sockets now
        let _ = first_end.recv(); // one ended, or every task is gone
        drop(runtime); // cancels the rest at their .await, joins the workers
    }
}

/// One task's loop: await a datagram, answer it, until the stop flag is
/// seen. The `single` loop, with `.await` where `single` blocks.
async fn serve(
    sock: &tokio::net::UdpSocket,
    replies: &UdpSocket,
    stop: &AtomicBool,
    mut responder: Responder,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut longest = 0; // what planted::stale_length remembers
    while !stop.load(Ordering::Relaxed) {
        let len = planted::receive_length(buf.len());
        let (n, from) = match sock.recv_from(&mut buf[..len]).await {
            Ok(got) => got,
            // e.g. Windows' WSAECONNRESET after an ICMP error: count, go on.
            Err(_) => {
                responder.counters().count_recv_error();
                continue;
            }
        };
        if stop.load(Ordering::Relaxed) || stops_here(n) {
            break; // the wake-up datagram (or a late request): stop now
        }
        let n = planted::stale_length(n, &mut longest);
        responder.handle(replies, &buf[..n], from);
    }
}
