//! The relay's moving parts: the threads that receive (one [`pump`] per
//! socket), the engine thread that owns both [`Plan`]s, both delay lines and
//! every send, and the counters it publishes ([`RelayStats`]). Only the
//! engine decides, so the two directions never race for a plan.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::bottleneck::{stamp_of, Bottleneck, BottleneckStats, LinkClock, TailDropQueue};
use super::impairments::{Direction, Impairments, Links};
use super::plan::{LinkStats, Packet, Plan};
use crate::lab::planted::{self, Bug};
use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// How often a relay thread blocked in `recv` checks its stop flag.
pub(super) const STOP_POLL: Duration = Duration::from_millis(50);

/// How long the relay's engine sleeps when nothing is held or delayed.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The most clients one relay serves (each gets a socket and a thread).
/// Datagrams from further clients are counted in [`RelayStats::turned_away`].
pub const MAX_CLIENTS: usize = 256;

/// What a relay has counted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams from clients toward the server.
    pub to_server: LinkStats,
    /// Datagrams from the server back to clients.
    pub to_client: LinkStats,
    /// Distinct clients seen (each got its own socket toward the server).
    pub clients: u64,
    /// Datagrams from clients beyond [`MAX_CLIENTS`], dropped uncounted by the plans.
    pub turned_away: u64,
    /// Errors from `recv` other than timeouts (e.g. `ConnectionRefused`
    /// on a client's socket toward a server that is not there).
    pub recv_errors: u64,
    /// The bottleneck toward the server, when the relay has one (all 0 otherwise).
    pub bottleneck: BottleneckStats,
}

/// What the receiving threads (and the handle) tell the engine.
pub(super) enum Event {
    /// A datagram from a client, toward the server.
    FromClient { from: SocketAddr, payload: Vec<u8> },
    /// A datagram from the server, on the socket of `client`.
    FromServer {
        client: SocketAddr,
        payload: Vec<u8>,
    },
    /// A receive failed (not a timeout).
    RecvError,
    /// The handle stops the relay: release everything, then end.
    Stop,
}

/// The counters the engine publishes and the handle reads; `changed` is
/// notified at every publication (for [`RelayHandle::wait_until`](super::RelayHandle::wait_until)).
#[derive(Default)]
pub(super) struct Shared {
    stats: Mutex<RelayStats>,
    pub(super) changed: Condvar,
}

impl Shared {
    /// The counters, even if a thread panicked while holding them.
    pub(super) fn lock(&self) -> MutexGuard<'_, RelayStats> {
        self.stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts a relay thread called `name`.
pub(super) fn named(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name)
        .spawn(body)
        .map_err(|e| net::context(e, "starting a relay thread"))
}

/// A receiving thread's loop: every datagram becomes an event for the
/// engine, until `stop` is set.
pub(super) fn pump(
    sock: &UdpSocket,
    stop: &AtomicBool,
    events: &SyncSender<Event>,
    wrap: impl Fn(SocketAddr, Vec<u8>) -> Event,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::SeqCst) {
        let event = match sock.recv_from(&mut buf) {
            Ok((n, from)) => wrap(from, buf[..n].to_vec()),
            Err(e) if is_timeout(&e) => continue,
            Err(_) => Event::RecvError,
        };
        if stop.load(Ordering::SeqCst) || events.send(event).is_err() {
            return;
        }
    }
}

/// A FIFO of released datagrams, each sent when its delay is over.
#[derive(Default)]
struct DelayLine {
    queue: VecDeque<(Instant, Packet<SocketAddr>)>,
    last: Option<Instant>,
}

impl DelayLine {
    /// Queues released datagrams, each due after its delay but never
    /// before the one ahead of it.
    fn schedule(&mut self, packets: Vec<Packet<SocketAddr>>, now: Instant) {
        for packet in packets {
            // Never before the one ahead: a link is a queue.
            let at = self
                .last
                .map_or(now + packet.delay, |last| last.max(now + packet.delay));
            self.last = Some(at);
            self.queue.push_back((at, packet));
        }
    }

    /// When the first queued datagram is due.
    fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    /// The first queued datagram, if it is due by `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Packet<SocketAddr>> {
        if self.next_due()? <= now {
            self.queue.pop_front().map(|(_, packet)| packet)
        } else {
            None
        }
    }
}

/// One direction inside the engine: its plan, since when it holds, its delay line.
struct Link {
    plan: Plan<SocketAddr>,
    hold: Duration,
    held_since: Option<Instant>,
    line: DelayLine,
    sent: u64,
    send_errors: u64,
    /// Datagrams sent so far (what the planted bug `uncounted_duplicates` counts by).
    forwarded: u64,
    /// The bottleneck after the plan (toward the server only), and its clock.
    queue: Option<(TailDropQueue<SocketAddr>, LinkClock)>,
    /// When the relay started: time zero of [`LinkClock::Relay`].
    started: Instant,
}

impl Link {
    /// A fresh link for `direction`, impaired as `imp` says.
    fn new(imp: &Impairments, direction: Direction) -> Self {
        let seeded = Impairments {
            seed: if planted::active(Bug::RelayIgnoresSeed) {
                42
            } else {
                imp.seed
            },
            ..*imp
        };
        Link {
            plan: Plan::new(&seeded, direction),
            hold: imp.hold,
            held_since: None,
            line: DelayLine::default(),
            sent: 0,
            send_errors: 0,
            forwarded: 0,
            queue: None,
            started: Instant::now(),
        }
    }

    /// The same link with `link` between its plan and its delay line.
    fn with_bottleneck(mut self, link: Option<Bottleneck>) -> Self {
        self.queue = link.map(|b| (TailDropQueue::new(&b), b.clock));
        self
    }

    /// Passes one datagram through the plan and queues what it releases.
    fn push(&mut self, payload: Vec<u8>, route: SocketAddr, now: Instant) {
        let out = self.plan.push(payload, route);
        self.admit(out, now);
        self.held_since = match self.plan.held() {
            0 => None,
            _ => Some(self.held_since.unwrap_or(now)),
        };
    }

    /// Releases the held datagrams once the oldest has waited `hold`.
    fn release_overdue(&mut self, now: Instant) {
        if self
            .held_since
            .is_some_and(|since| now >= since + self.hold)
            && !planted::active(Bug::IgnoresHoldClock)
        {
            let out = self.plan.flush();
            self.admit(out, now);
            self.held_since = None;
        }
    }

    /// Sends what the plan released through the bottleneck (if any) to the
    /// delay line: each datagram arrives at the link's time, its stamp or
    /// the relay's clock.
    fn admit(&mut self, out: Vec<Packet<SocketAddr>>, now: Instant) {
        let Some((queue, clock)) = &mut self.queue else {
            return self.line.schedule(out, now);
        };
        let mut passed = Vec::new();
        for packet in out {
            let at = match clock {
                LinkClock::Stamped => stamp_of(&packet.payload).unwrap_or(queue.now()),
                LinkClock::Relay => now.saturating_duration_since(self.started),
            };
            passed.extend(queue.arrive(at, packet.payload, packet.route));
        }
        self.line.schedule(passed, now);
    }

    /// Lets through what waited in a relay-clocked bottleneck until `now`.
    fn serve_queue(&mut self, now: Instant) {
        // Never past the real now: at shutdown (a far-future `now`) what
        // still waits stays queued, counted, unsent.
        let now = now.min(Instant::now());
        if let Some((queue, LinkClock::Relay)) = &mut self.queue {
            let passed = queue.serve(now.saturating_duration_since(self.started));
            self.line.schedule(passed, now);
        }
    }

    /// When this link next needs the engine: a hold ending or a datagram due.
    fn next_wake(&self) -> Option<Instant> {
        let hold_over = self.held_since.map(|since| since + self.hold);
        let service = match &self.queue {
            Some((queue, LinkClock::Relay)) => queue.next_service().map(|at| self.started + at),
            _ => None,
        };
        [hold_over, self.line.next_due(), service]
            .into_iter()
            .flatten()
            .min()
    }

    /// The plan's counts plus what was really sent.
    fn stats(&self) -> LinkStats {
        LinkStats {
            sent: self.sent,
            send_errors: self.send_errors,
            ..self.plan.stats()
        }
    }
}

/// The relay's one deciding thread: it owns both plans and every send.
pub(super) struct Engine {
    front: Arc<UdpSocket>,
    server: SocketAddr,
    up: Link,
    down: Link,
    clients: HashMap<SocketAddr, Arc<UdpSocket>>,
    receivers: Vec<JoinHandle<()>>,
    events: SyncSender<Event>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    turned_away: u64,
    recv_errors: u64,
}

impl Engine {
    /// An engine sending to `server` through per-client sockets, and back
    /// to clients through `front`; `events` is its own inbox (for the
    /// receiving threads it starts), `stop` the relay's stop flag.
    pub(super) fn new(
        front: Arc<UdpSocket>,
        server: SocketAddr,
        (links, bottleneck): (&Links, Option<Bottleneck>),
        events: SyncSender<Event>,
        stop: Arc<AtomicBool>,
        shared: Arc<Shared>,
    ) -> Self {
        Engine {
            front,
            server,
            up: Link::new(&links.to_server, Direction::ToServer).with_bottleneck(bottleneck),
            down: Link::new(&links.to_client, Direction::ToClient),
            clients: HashMap::new(),
            receivers: Vec::new(),
            events,
            stop,
            shared,
            turned_away: 0,
            recv_errors: 0,
        }
    }

    /// Handles events and sends what is due, until [`Event::Stop`].
    pub(super) fn run(mut self, inbox: &Receiver<Event>) {
        loop {
            let now = Instant::now();
            let wake = [self.up.next_wake(), self.down.next_wake()]
                .into_iter()
                .flatten()
                .min();
            let wait = wake.map_or(IDLE_WAIT, |at| at.saturating_duration_since(now));
            match inbox.recv_timeout(wait) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.send_due(Instant::now());
            self.publish();
        }
        self.finish(inbox);
    }

    /// Feeds one event to the plan of its direction (or counts it).
    fn handle(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::FromClient { from, payload } => {
                if self.route_for(from).is_some() {
                    self.up.push(payload, from, now);
                } else {
                    self.turned_away += 1;
                }
            }
            Event::FromServer { client, payload } => self.down.push(payload, client, now),
            Event::RecvError => self.recv_errors += 1,
            Event::Stop => {}
        }
    }

    /// The client's own socket toward the server, made (with its receiving
    /// thread) on the client's first datagram. `None` past [`MAX_CLIENTS`] or
    /// when the OS refuses a socket or a thread.
    fn route_for(&mut self, client: SocketAddr) -> Option<Arc<UdpSocket>> {
        if let Some(sock) = self.clients.get(&client) {
            return Some(Arc::clone(sock));
        }
        if self.clients.len() >= MAX_CLIENTS {
            return None;
        }
        let sock = Arc::new(connect_toward(self.server).ok()?);
        let (stop, events, reader) = (
            Arc::clone(&self.stop),
            self.events.clone(),
            Arc::clone(&sock),
        );
        let name = format!("udp-lab-relay-client-{}", client.port());
        let receiver = named(name, move || {
            pump(&reader, &stop, &events, |_, payload| Event::FromServer {
                client,
                payload,
            })
        })
        .ok()?;
        self.receivers.push(receiver);
        self.clients.insert(client, Arc::clone(&sock));
        Some(sock)
    }

    /// Sends every datagram due by `now`, both ways.
    fn send_due(&mut self, now: Instant) {
        self.up.release_overdue(now);
        self.down.release_overdue(now);
        self.up.serve_queue(now);
        while let Some(packet) = self.up.line.pop_due(now) {
            let sent = self
                .clients
                .get(&packet.route)
                .map(|sock| send_toward_server(sock, &packet.payload, self.server));
            count_send(&mut self.up, sent.is_some_and(|r| r.is_ok()));
            self.up.forwarded += 1;
            if planted::active(Bug::UncountedDuplicates) && self.up.forwarded.is_multiple_of(5) {
                if let Some(sock) = self.clients.get(&packet.route) {
                    let _ = send_toward_server(sock, &packet.payload, self.server);
                }
            }
        }
        while let Some(packet) = self.down.line.pop_due(now) {
            let sent = self.front.send_to(&packet.payload, packet.route);
            count_send(&mut self.down, sent.is_ok());
        }
    }

    /// After Stop: the receiving threads end, what they had read is
    /// pushed, and everything held or delayed is sent at once.
    fn finish(mut self, inbox: &Receiver<Event>) {
        self.stop.store(true, Ordering::SeqCst);
        // Keep draining while they end: a receiver blocked on a full queue
        // must get its place before it can see the stop flag.
        while self.receivers.iter().any(|r| !r.is_finished()) {
            if let Ok(event) = inbox.recv_timeout(STOP_POLL) {
                self.handle(event);
            }
        }
        for receiver in std::mem::take(&mut self.receivers) {
            let _ = receiver.join();
        }
        while let Ok(event) = inbox.try_recv() {
            self.handle(event);
        }
        let far_future = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        for link in [&mut self.up, &mut self.down] {
            let out = link.plan.flush();
            link.admit(out, Instant::now());
            link.held_since = None;
        }
        self.send_due(far_future);
        self.publish();
    }

    /// Copies the counters where the handle reads them, and wakes its waiters.
    fn publish(&self) {
        let mut stats = self.shared.lock();
        *stats = RelayStats {
            to_server: self.up.stats(),
            to_client: self.down.stats(),
            clients: self.clients.len() as u64,
            turned_away: self.turned_away,
            recv_errors: self.recv_errors,
            bottleneck: self
                .up
                .queue
                .as_ref()
                .map(|(q, _)| q.stats())
                .unwrap_or_default(),
        };
        self.shared.changed.notify_all();
    }
}

/// Sends one datagram on a client's socket toward `server` (connected,
/// unless the planted bug `relay_hears_strangers` left it unconnected).
fn send_toward_server(sock: &UdpSocket, payload: &[u8], server: SocketAddr) -> io::Result<usize> {
    if planted::active(Bug::RelayHearsStrangers) {
        return sock.send_to(payload, server);
    }
    sock.send(payload)
}

/// Counts one send on `link`, done or refused.
fn count_send(link: &mut Link, ok: bool) {
    if ok {
        link.sent += 1;
    } else {
        link.send_errors += 1;
    }
}

/// A client's socket toward `server`: bound as [`net::bind_toward`] says
/// and connected, so the kernel delivers it only the server's datagrams
/// (chapter 10); its short read timeout lets its thread see the stop flag.
fn connect_toward(server: SocketAddr) -> io::Result<UdpSocket> {
    let sock = net::bind_toward(server)?;
    sock.set_read_timeout(Some(STOP_POLL))?;
    if planted::active(Bug::RelayHearsStrangers) {
        return Ok(sock); // unconnected: it hears anyone
    }
    sock.connect(server)
        .map_err(|e| net::context(e, format!("connecting the relay's socket to {server}")))?;
    Ok(sock)
}
