//! Reference solutions for the exercises of chapter 18 (tests/ch18_multihoming.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_18_1
#[test]
fn a_client_that_checks_the_source_rejects_the_wildcard_server_and_accepts_the_pktinfo_server() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let asked: IpAddr = "192.0.2.3".parse().expect("an address");
    let s = lab.host("s");
    let plain = s.bind(wildcard(asked)).expect("the wildcard server");
    let pktinfo = s.bind(wildcard(asked)).expect("the pktinfo server");
    multihomed::enable_pktinfo(&pktinfo).expect("IP_PKTINFO");
    let client = lab.host("a").bind(wildcard(asked)).expect("the client");
    let at = |server: &UdpSocket| SocketAddr::new(asked, server.local_addr().expect("port").port());

    client
        .send_to(b"plain", at(&plain))
        .expect("send to the wildcard server");
    let request = within(&plain, DEFAULT_TIMEOUT).expect("the request arrives");
    plain
        .send_to(&request.payload, request.from)
        .expect("reply");
    let first = within(&client, DEFAULT_TIMEOUT).expect("the wildcard server's reply");
    client
        .send_to(b"pktinfo", at(&pktinfo))
        .expect("send to the pktinfo server");
    multihomed::echo_once(&pktinfo).expect("the pktinfo server answers");
    let second = within(&client, DEFAULT_TIMEOUT).expect("the pktinfo server's reply");

    assert_ne!(
        first.from,
        at(&plain),
        "the wildcard server's reply comes from the kernel's pick, not from what was asked: a checking client rejects it"
    );
    assert_eq!(
        second.from,
        at(&pktinfo),
        "the pktinfo server's reply comes from the address asked: a checking client accepts it"
    );
}
// ANCHOR_END: exercise_18_1

// ANCHOR: exercise_18_2
#[test]
fn one_pktinfo_server_per_family_answers_all_six_addresses_each_from_the_address_asked() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let families: [[&str; 3]; 2] = [
        ["192.0.2.2", "192.0.2.3", "198.51.100.2"],
        ["2001:db8:1::2", "2001:db8:1::3", "2001:db8:2::2"],
    ];
    for addresses in families {
        let ips: Vec<IpAddr> = addresses
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect();
        let server = lab.host("s").bind(wildcard(ips[0])).expect("the server");
        multihomed::enable_pktinfo(&server).expect("pktinfo");
        let port = server.local_addr().expect("port").port();
        let clients: Vec<UdpSocket> = ips
            .iter()
            .map(|ip| client_of(lab.host("a"), SocketAddr::new(*ip, port)))
            .collect();

        for (ip, client) in ips.iter().zip(&clients) {
            client.send(ip.to_string().as_bytes()).expect("send");
        }
        for _ in &ips {
            multihomed::echo_once(&server).expect("the server answers");
        }

        for (ip, client) in ips.iter().zip(&clients) {
            let reply = within(client, DEFAULT_TIMEOUT);
            assert_eq!(
                reply.map(|d| (d.from.ip(), d.text())),
                Some((*ip, ip.to_string())),
                "the client that asked {ip} gets its own request back from {ip}"
            );
        }
    }
}
// ANCHOR_END: exercise_18_2
