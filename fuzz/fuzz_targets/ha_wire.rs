//! Fuzz target: the HA control link's frames and messages, before and
//! after authentication, and the datapath's signed adverts. Any bytes go
//! to the length check, the frame opener and a session that has not seen
//! a Hello; frames the peer seals with the right key (Hello, then any type
//! and payload, any sequence number) reach the message decoders. No panic;
//! a refused frame leaves the session as it was; an accepted message is
//! valid and survives encode → decode unchanged.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lvsd::ha::msg::types;
use lvsd::ha::wire::{self, AuthKey, Nonce, Session, ZERO_NONCE};
use lvsd::ha::{advert, Msg, SyncRecord};
use std::net::Ipv4Addr;

const KEY: &[u8] = b"lvsd fuzz key";
const OURS: Nonce = [1; wire::NONCE_LEN];
const PEERS: Nonce = [2; wire::NONCE_LEN];

#[derive(Arbitrary, Debug)]
enum Step {
    /// Bytes as they arrive from the network.
    Raw(Vec<u8>),
    /// A frame the peer sealed: type, sequence step, nonces right or not, payload.
    Sealed {
        ty: u8,
        seq: u8,
        nonces: u8,
        payload: Vec<u8>,
    },
    /// The peer's Hello with this node name and priority.
    Hello(String, u8),
    /// A datapath advert (IP payload) from this source.
    Advert([u8; 4], Vec<u8>),
}

fn accepted(msg: &Msg) {
    msg.validate().expect("an accepted message is valid");
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload);
    assert_eq!(payload.len(), msg.payload_len(), "payload_len");
    let again = Msg::decode(msg.type_code(), &payload).expect("re-decodes");
    assert_eq!(&again, msg, "encode -> decode");
}

fn open(s: &mut Session, buf: &[u8]) {
    let (peer, confirmed) = (s.peer_nonce(), s.confirmed());
    match s.open(buf) {
        Ok(Some(m)) => accepted(&m),
        Ok(None) => {}
        Err(_) => assert_eq!(
            (s.peer_nonce(), s.confirmed()),
            (peer, confirmed),
            "refusal changed the session"
        ),
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let key = AuthKey::new(KEY).expect("key");
    let mut s = Session::new(key.clone(), OURS);
    let mut verifier = advert::Verifier::new(KEY, "lvs-a").expect("verifier");
    let mut seq = 0u64;
    for step in steps.iter().take(64) {
        match step {
            Step::Raw(b) => {
                let _ = wire::frame_len(b);
                let _ = wire::frame_len_within(b, wire::PRE_AUTH_READ);
                let _ = wire::open_frame(&key, b);
                if let Some(&ty) = b.first() {
                    if let Ok(m) = Msg::decode(ty, &b[1..]) {
                        accepted(&m);
                    }
                }
                let _ = SyncRecord::decode(b);
                open(&mut s, b);
            }
            Step::Sealed {
                ty,
                seq: step_seq,
                nonces,
                payload,
            } => {
                seq = seq
                    .saturating_add(u64::from(*step_seq))
                    .saturating_sub(u64::from(*step_seq == 0xff) * 3);
                let snd = if nonces & 1 == 0 { PEERS } else { OURS };
                let rcv = if nonces & 2 == 0 { OURS } else { ZERO_NONCE };
                if let Ok(f) =
                    wire::seal_frame(&key, *ty, &snd, &rcv, seq, |o| o.extend_from_slice(payload))
                {
                    open(&mut s, &f);
                }
            }
            Step::Hello(node, prio) => {
                let msg = Msg::Hello {
                    node: node.clone(),
                    priority: *prio,
                    nonce: PEERS,
                };
                if let Ok(f) = wire::seal_frame(&key, types::HELLO, &PEERS, &ZERO_NONCE, 0, |o| {
                    msg.encode_payload(o)
                }) {
                    open(&mut s, &f);
                }
            }
            Step::Advert(src, body) => {
                let _ = verifier.verify(body, Ipv4Addr::from(*src), 0);
                let _ = advert::checksum(body);
            }
        }
    }
});
