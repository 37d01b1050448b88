//! The fuzz targets on the stable toolchain: each target body in `fuzz/bodies/`
//! (the same code the cargo-fuzz targets run) gets its committed corpus
//! (`fuzz/corpus/<target>/`, so a crash once found and committed stays fixed),
//! then inputs from a seeded generator, until a count or a time limit, whichever
//! comes first. Deterministic: a given seed gives the same inputs in the same
//! order (the time limit only cuts the sequence short on a slow machine), except
//! that `certificate` starts from certificates OpenSSL makes with fresh keys.
//!
//! Environment: `RTWS_FUZZ_EXECS` (generated inputs per target), `RTWS_FUZZ_SECS`
//! (time per target), `RTWS_FUZZ_SEED` (another sequence), `RTWS_FUZZ_INPUT`
//! (run one file, in the target named in its path), `RTWS_FUZZ_TRACE`
//! (api_sequence prints each call). A failing input is saved under
//! `target/fuzz-failures/` for `cargo fuzz run <target> <file>`.
//! `cargo test --test fuzz -- --ignored write_seed_corpus` rewrites the
//! generated part of the committed corpus (`seed-*` files).
//!
//! See fuzz/README.md.

#[path = "../fuzz/bodies/mod.rs"]
mod bodies;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Rng = Xoshiro256PlusPlus;

const DEFAULT_SECS: u64 = 10;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
    )
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Runs `body` on `input`; on a failure, saves the input before passing the panic on.
fn run_one<R>(target: &str, label: &str, input: &[u8], body: &impl Fn(&[u8]) -> R) -> R {
    match catch_unwind(AssertUnwindSafe(|| body(input))) {
        Ok(r) => r,
        Err(panic) => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
            let path = dir.join(format!("{target}-{label}"));
            let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, input));
            eprintln!(
                "fuzz {target}: input {label} ({} bytes) failed; saved: {} ({saved:?})",
                input.len(),
                path.display()
            );
            if input.len() <= 256 {
                eprintln!("input: {input:02x?}");
            }
            resume_unwind(panic)
        }
    }
}

/// The corpus, then generated inputs; `on_result` sees each body's result.
fn drive<R>(
    target: &str,
    default_execs: u64,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8>,
    body: impl Fn(&[u8]) -> R,
    mut on_result: impl FnMut(R),
) {
    let started = Instant::now();
    // RTWS_FUZZ_INPUT=<file>: that input alone (to follow a failure).
    if let Some(file) = std::env::var_os("RTWS_FUZZ_INPUT") {
        let path = PathBuf::from(file);
        if path.to_string_lossy().contains(target) {
            let input = std::fs::read(&path).expect("read RTWS_FUZZ_INPUT");
            on_result(run_one(target, "input", &input, &body));
        }
        return;
    }
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    corpus.sort();
    for path in &corpus {
        let input = std::fs::read(path).expect("read a corpus file");
        let name = path.file_name().unwrap().to_string_lossy();
        on_result(run_one(target, &format!("corpus-{name}"), &input, &body));
    }

    let execs = env_u64("RTWS_FUZZ_EXECS").unwrap_or(default_execs);
    let limit = Duration::from_secs(env_u64("RTWS_FUZZ_SECS").unwrap_or(DEFAULT_SECS));
    // One sequence per target, so targets do not mirror each other's choices.
    let seed = env_u64("RTWS_FUZZ_SEED").unwrap_or(0x5EED) ^ fnv(target);
    let mut rng = Rng::seed_from_u64(seed);
    let gen_started = Instant::now();
    let mut done = 0u64;
    while done < execs && gen_started.elapsed() < limit {
        let input = generate(&mut rng);
        on_result(run_one(
            target,
            &format!("seed{seed:x}-{done}"),
            &input,
            &body,
        ));
        done += 1;
    }
    println!(
        "fuzz {target}: {} corpus inputs + {done} generated (seed 0x{seed:x}) in {:.1} s{}",
        corpus.len(),
        started.elapsed().as_secs_f64(),
        if done < execs { " (time limit)" } else { "" }
    );
    assert!(done > 0, "no generated input ran");
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

// ----- frames ------------------------------------------------------------------

mod frame_gen {
    use super::bodies::frames::FrameCase;
    use super::Rng;
    use rand::RngExt;

    const CHARS: &[&str] = &[
        "a",
        "z",
        " ",
        "é",
        "€",
        "😀",
        "\u{7ff}",
        "\u{10000}",
        "\u{ffff}",
    ];

    /// Text, maybe broken: an invalid byte, a cut character, a surrogate.
    fn text(rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            out.extend(CHARS[rng.random_range(0..CHARS.len())].as_bytes());
        }
        if rng.random_ratio(1, 6) {
            let bad: &[&[u8]] = &[
                &[0xFF],
                &[0x80],
                &[0xC0, 0x80],
                &[0xED, 0xA0, 0x80],
                &[0xE2, 0x82],
                &[0xF4, 0x90, 0x80, 0x80],
            ];
            let b = bad[rng.random_range(0..bad.len())];
            let at = rng.random_range(0..=out.len());
            out.splice(at..at, b.iter().copied());
        }
        out
    }

    fn payload_len(rng: &mut Rng) -> usize {
        match rng.random_range(0..100) {
            0..=69 => rng.random_range(0..20),
            70..=95 => rng.random_range(20..300),
            96..=98 => rng.random_range(65_530..65_540),
            _ => rng.random_range(65_536..70_000),
        }
    }

    fn header(rng: &mut Rng, out: &mut Vec<u8>, first: u8, len: usize) {
        out.push(first);
        match (len, rng.random_range(0..100)) {
            (_, 0) => {
                // The 64-bit form with its top bit set (RFC 6455 forbids it).
                out.push(127);
                out.extend((len as u64 | 1 << 63).to_be_bytes());
            }
            (_, 1..=4) => {
                out.push(127);
                out.extend((len as u64).to_be_bytes());
            }
            (0..=0xFFFF, 5..=8) => {
                out.push(126);
                out.extend((len as u16).to_be_bytes());
            }
            (0..=125, _) => out.push(len as u8),
            (126..=0xFFFF, _) => {
                out.push(126);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(127);
                out.extend((len as u64).to_be_bytes());
            }
        }
    }

    fn frame(rng: &mut Rng, out: &mut Vec<u8>, first: u8, payload: &[u8]) {
        header(rng, out, first, payload.len());
        out.extend(payload);
    }

    fn control(rng: &mut Rng, out: &mut Vec<u8>) {
        match rng.random_range(0..10) {
            0..=2 => {
                let n = if rng.random_ratio(1, 10) {
                    rng.random_range(126..130)
                } else {
                    rng.random_range(0..=125)
                };
                let p: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                frame(rng, out, 0x89, &p);
            }
            3..=4 => {
                let p: Vec<u8> = (0..rng.random_range(0..8)).map(|_| rng.random()).collect();
                frame(rng, out, 0x8A, &p);
            }
            _ => {
                let codes = [
                    1000u16, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014, 1015,
                    1016, 2999, 3000, 4999, 5000, 0, 999,
                ];
                let mut p = Vec::new();
                match rng.random_range(0..6) {
                    0 => {}
                    1 => p.push(rng.random()),
                    _ => {
                        p.extend(codes[rng.random_range(0..codes.len())].to_be_bytes());
                        let len = rng.random_range(0..20);
                        p.extend(text(rng, len));
                        p.truncate(125 + usize::from(rng.random_ratio(1, 10)));
                    }
                }
                frame(rng, out, 0x88, &p);
            }
        }
    }

    /// A message, maybe fragmented, maybe with control frames between fragments.
    fn message(rng: &mut Rng, out: &mut Vec<u8>) {
        let is_text = rng.random_bool(0.5);
        let len = payload_len(rng);
        let body: Vec<u8> = if is_text {
            text(rng, len)
        } else {
            (0..len).map(|_| rng.random()).collect()
        };
        let pieces = if rng.random_ratio(1, 3) {
            rng.random_range(2..5)
        } else {
            1
        };
        let mut cuts: Vec<usize> = (1..pieces)
            .map(|_| rng.random_range(0..=body.len()))
            .collect();
        cuts.sort();
        cuts.insert(0, 0);
        cuts.push(body.len());
        for i in 0..pieces {
            let opcode = if i > 0 {
                0
            } else if is_text {
                1
            } else {
                2
            };
            let fin = if i + 1 == pieces { 0x80 } else { 0 };
            frame(rng, out, fin | opcode, &body[cuts[i]..cuts[i + 1]]);
            if i + 1 < pieces && rng.random_ratio(1, 4) {
                control(rng, out);
            }
        }
    }

    fn broken(rng: &mut Rng, out: &mut Vec<u8>) {
        let p: Vec<u8> = (0..rng.random_range(0..6)).map(|_| rng.random()).collect();
        match rng.random_range(0..7) {
            0 => {
                let reserved_data = 0x80 | rng.random_range(3..8);
                frame(rng, out, reserved_data, &p)
            }
            1 => {
                let reserved_control = 0x80 | rng.random_range(0xB..0x10);
                frame(rng, out, reserved_control, &p)
            }
            2 => {
                let rsv = 0x82 | (rng.random_range(1..8) << 4);
                frame(rng, out, rsv, &p)
            }
            3 => {
                // masked
                out.extend([0x82, 0x80 | p.len() as u8]);
                out.extend(rng.random::<[u8; 4]>());
                out.extend(&p);
            }
            4 => frame(rng, out, 0x80, &p), // continuation without a message
            5 => frame(rng, out, 0x01, &p), // a fragment left open...
            _ => out.extend((0..rng.random_range(1..10)).map(|_| rng.random::<u8>())),
        }
    }

    pub fn generate(rng: &mut Rng) -> Vec<u8> {
        let max_message = match rng.random_range(0..6) {
            0 => Some(rng.random_range(0..300)),
            1 => Some(rng.random_range(0..70_000)),
            2 => Some(rng.random()),
            _ => None,
        };
        let n = rng.random_range(0..16);
        let chunks = (0..n)
            .map(|_| {
                if rng.random_ratio(1, 4) {
                    rng.random()
                } else {
                    rng.random_range(0..12)
                }
            })
            .collect();
        let mut stream = Vec::new();
        for _ in 0..rng.random_range(0..8) {
            match rng.random_range(0..10) {
                0..=4 => message(rng, &mut stream),
                5..=7 => control(rng, &mut stream),
                _ => broken(rng, &mut stream),
            }
        }
        if !stream.is_empty() && rng.random_ratio(1, 4) {
            let at = rng.random_range(0..stream.len());
            stream.truncate(at);
        }
        if !stream.is_empty() && rng.random_ratio(1, 6) {
            let at = rng.random_range(0..stream.len());
            stream[at] ^= 1 << rng.random_range(0..8);
        }
        FrameCase {
            max_message,
            chunks,
            stream,
        }
        .encode()
    }
}

#[test]
fn fuzz_frames() {
    let mut codes = std::collections::BTreeMap::<Option<u16>, u64>::new();
    drive(
        "frames",
        12_000,
        frame_gen::generate,
        bodies::frames::run,
        |code| {
            *codes.entry(code).or_default() += 1;
        },
    );
    println!("fuzz frames: endings {codes:?}");
    // The generator must reach every ending, or the properties go untested.
    for code in [None, Some(1002), Some(1007), Some(1009)] {
        assert!(codes.contains_key(&code), "no input ended with {code:?}");
    }
}

// ----- data_reader ---------------------------------------------------------------

fn data_reader_input(rng: &mut Rng) -> Vec<u8> {
    let data: Vec<u8> = match rng.random_range(0..4) {
        0 => (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
        1 => (0..rng.random_range(0..600))
            .map(|_| rng.random())
            .collect(),
        // Text in each encoding, sometimes with a lone surrogate or a broken byte.
        _ => {
            let s: String = (0..rng.random_range(0..24))
                .map(|_| ['a', 'é', '€', '😀', '\u{ffff}', '\0'][rng.random_range(0..6)])
                .collect();
            let mut out = match rng.random_range(0..3) {
                0 => s.into_bytes(),
                1 => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
                _ => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            };
            if rng.random_ratio(1, 4) && !out.is_empty() {
                let at = rng.random_range(0..out.len());
                let junk: &[u8] =
                    [&[0xD8u8, 0x00][..], &[0x00, 0xDC], &[0xFF], &[0xC3]][rng.random_range(0..4)];
                out.splice(at..at, junk.iter().copied());
            }
            out
        }
    };
    let mut input = (data.len() as u16).to_le_bytes().to_vec();
    input.extend(&data);
    // Operations: mostly reads, each with a few argument bytes.
    for _ in 0..rng.random_range(0..60) {
        input.push(rng.random_range(0..22));
        input.extend((0..rng.random_range(0..4)).map(|_| rng.random::<u8>() % 24));
    }
    input
}

#[test]
fn fuzz_data_reader() {
    drive(
        "data_reader",
        20_000,
        data_reader_input,
        bodies::data_reader::run,
        |()| {},
    );
}

// ----- certificate ---------------------------------------------------------------

mod cert_gen {
    use super::Rng;
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkcs12::Pkcs12;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::stack::Stack;
    use openssl::x509::{X509Name, X509};
    use rand::RngExt;
    use std::sync::OnceLock;

    /// Valid material to start from, made once per process.
    pub struct Seeds {
        /// (certificate chain PEM, private key PEM): matching pairs.
        pub pem_pairs: Vec<(String, String)>,
        /// A key that matches none of the certificates.
        pub stray_key: String,
        /// (password, PKCS#12 DER).
        pub pkcs12: Vec<(String, Vec<u8>)>,
        pub der: Vec<Vec<u8>>,
    }

    fn cert(
        key: &PKey<Private>,
        cn: &str,
        issuer: Option<(&X509, &PKey<Private>)>,
        from: &str,
        to: &str,
    ) -> X509 {
        let mut name = X509Name::builder().unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "rtws fuzz")
            .unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&Asn1Time::from_str(from).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_str(to).unwrap()).unwrap();
        let (issuer_name, signer) = match issuer {
            Some((c, k)) => (c.subject_name().to_owned().unwrap(), k),
            None => (name, key),
        };
        b.set_issuer_name(&issuer_name).unwrap();
        let md = if signer.id() == openssl::pkey::Id::ED25519 {
            MessageDigest::null()
        } else {
            MessageDigest::sha256()
        };
        b.sign(signer, md).unwrap();
        b.build()
    }

    fn ec_key() -> PKey<Private> {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
    }

    pub fn seeds() -> &'static Seeds {
        static SEEDS: OnceLock<Seeds> = OnceLock::new();
        SEEDS.get_or_init(|| {
            let ca_key = ec_key();
            let ca = cert(
                &ca_key,
                "Fuzz CA",
                None,
                "20240101000000Z",
                "20340101000000Z",
            );
            let ec = ec_key();
            let rsa_raw = Rsa::generate(1024).unwrap();
            let rsa = PKey::from_rsa(rsa_raw.clone()).unwrap();
            let ed = PKey::generate_ed25519().unwrap();
            let leaf_ec = cert(
                &ec,
                "leaf.example",
                Some((&ca, &ca_key)),
                "20240101000000Z",
                "20340101000000Z",
            );
            // Times at the edges of what X.509 encodes: UTCTime before 1970,
            // GeneralizedTime in year 9999.
            let leaf_rsa = cert(&rsa, "old", None, "19500101000000Z", "99991231235959Z");
            let leaf_ed = cert(&ed, "ed25519", None, "20491231235959Z", "20500101000000Z");
            let pem = |c: &X509| String::from_utf8(c.to_pem().unwrap()).unwrap();
            let pkcs8 = |k: &PKey<Private>| {
                String::from_utf8(k.private_key_to_pem_pkcs8().unwrap()).unwrap()
            };
            let pem_pairs = vec![
                (pem(&leaf_ec) + &pem(&ca), pkcs8(&ec)),
                (
                    pem(&leaf_ec),
                    String::from_utf8(ec.ec_key().unwrap().private_key_to_pem().unwrap()).unwrap(),
                ),
                (
                    pem(&leaf_rsa),
                    String::from_utf8(rsa_raw.private_key_to_pem().unwrap()).unwrap(),
                ),
                (pem(&leaf_ed), pkcs8(&ed)),
            ];
            let p12 = |key: &PKey<Private>, c: &X509, chain: Option<&X509>, password: &str| {
                let mut b = Pkcs12::builder();
                b.name("fuzz").pkey(key).cert(c);
                if let Some(extra) = chain {
                    let mut stack = Stack::new().unwrap();
                    stack.push(extra.clone()).unwrap();
                    b.ca(stack);
                }
                (
                    password.to_owned(),
                    b.build2(password).unwrap().to_der().unwrap(),
                )
            };
            Seeds {
                pem_pairs,
                stray_key: pkcs8(&ec_key()),
                pkcs12: vec![
                    p12(&ec, &leaf_ec, Some(&ca), "pw"),
                    p12(&rsa, &leaf_rsa, None, ""),
                    p12(&ed, &leaf_ed, None, "é"),
                ],
                der: [&leaf_ec, &ca, &leaf_rsa, &leaf_ed]
                    .iter()
                    .map(|c| c.to_der().unwrap())
                    .collect(),
            }
        })
    }

    const INTERESTING: &[u8] = &[
        0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF, 0x30, 0x17, 0x18,
    ];

    pub fn mutate_bytes(rng: &mut Rng, v: &mut Vec<u8>) {
        for _ in 0..rng.random_range(1..4) {
            if v.is_empty() {
                v.push(rng.random());
                continue;
            }
            let at = rng.random_range(0..v.len());
            match rng.random_range(0..8) {
                0 => v[at] ^= 1 << rng.random_range(0..8),
                1 => v[at] = rng.random(),
                2 => v[at] = INTERESTING[rng.random_range(0..INTERESTING.len())],
                3 => v[at] = v[at].wrapping_add(if rng.random_bool(0.5) { 1 } else { 0xFF }),
                4 => v.truncate(at),
                5 => {
                    let end = (at + rng.random_range(1..16)).min(v.len());
                    v.drain(at..end);
                }
                6 => {
                    let end = (at + rng.random_range(1..32)).min(v.len());
                    let copy = v[at..end].to_vec();
                    let to = rng.random_range(0..=v.len());
                    v.splice(to..to, copy);
                }
                _ => v.insert(at, rng.random()),
            }
        }
    }

    /// Rewrites one ASN.1 time (UTCTime or GeneralizedTime) of a DER
    /// certificate: digits, letters, signs, or its length.
    fn mutate_time(rng: &mut Rng, der: &mut [u8]) -> bool {
        let times: Vec<usize> = (0..der.len().saturating_sub(2))
            .filter(|&i| {
                matches!(
                    (der[i], der[i + 1]),
                    (0x17, 0x0B..=0x11) | (0x18, 0x0D..=0x13)
                )
            })
            .collect();
        if times.is_empty() {
            return false;
        }
        let at = times[rng.random_range(0..times.len())];
        let len = usize::from(der[at + 1]);
        let digits = b"0123456789Z+-.A ";
        for _ in 0..rng.random_range(1..4) {
            let i = at + 2 + rng.random_range(0..len);
            if i < der.len() {
                der[i] = digits[rng.random_range(0..digits.len())];
            }
        }
        if rng.random_ratio(1, 4) {
            der[at] ^= 0x17 ^ 0x18; // UTCTime <-> GeneralizedTime
        }
        true
    }

    pub fn mutate_der(rng: &mut Rng, der: &mut Vec<u8>) {
        if rng.random_ratio(1, 3) && mutate_time(rng, der) {
            return;
        }
        mutate_bytes(rng, der);
    }

    /// Mutates PEM: mostly the DER inside a block (so the certificate parser,
    /// not the base64 decoder, sees the damage), else the text itself.
    pub fn mutate_pem(rng: &mut Rng, pem: &str) -> Vec<u8> {
        let blocks: Vec<&str> = pem.split_inclusive("-----END ").collect();
        if rng.random_ratio(2, 3) && blocks.len() > 1 {
            let mut out = String::new();
            let target = rng.random_range(0..blocks.len() - 1);
            for (i, block) in pem
                .split("-----BEGIN ")
                .filter(|b| !b.is_empty())
                .enumerate()
            {
                let (label, rest) = block.split_once("-----\n").unwrap_or((block, ""));
                let (body, tail) = rest.split_once("-----END ").unwrap_or((rest, ""));
                let mut text = body.to_owned();
                if i == target {
                    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                    if let Ok(mut der) = openssl::base64::decode_block(&b64) {
                        mutate_der(rng, &mut der);
                        let enc = openssl::base64::encode_block(&der);
                        text = enc
                            .as_bytes()
                            .chunks(64)
                            .map(|l| String::from_utf8_lossy(l).into_owned() + "\n")
                            .collect();
                    }
                }
                out += &format!("-----BEGIN {label}-----\n{text}-----END {tail}");
            }
            return out.into_bytes();
        }
        let mut bytes = pem.as_bytes().to_vec();
        match rng.random_range(0..4) {
            0 => {
                // Drop a line.
                let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
                let skip = rng.random_range(0..lines.len());
                bytes = lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .flat_map(|(_, l)| l.iter().copied().chain([b'\n']))
                    .collect();
            }
            1 => {
                let labels = [
                    "CERTIFICATE",
                    "X509 CRL",
                    "PRIVATE KEY",
                    "TRUSTED CERTIFICATE",
                    "RSA PRIVATE KEY",
                    "",
                ];
                let to = labels[rng.random_range(0..labels.len())];
                bytes = pem
                    .replacen("CERTIFICATE", to, 1)
                    .replacen("PRIVATE KEY", to, 1)
                    .into_bytes();
            }
            _ => mutate_bytes(rng, &mut bytes),
        }
        bytes
    }

    fn no_nul(mut v: Vec<u8>) -> Vec<u8> {
        v.retain(|&b| b != 0);
        v
    }

    /// An input for the `certificate` body: a mode byte and its data.
    pub fn generate(rng: &mut Rng) -> Vec<u8> {
        let s = seeds();
        let intact = rng.random_ratio(1, 8);
        let mut out = Vec::new();
        match rng.random_range(0..4u8) {
            0 => {
                out.push(0);
                let (cert, mut key) = s.pem_pairs[rng.random_range(0..s.pem_pairs.len())].clone();
                if rng.random_ratio(1, 8) {
                    key = s.stray_key.clone();
                }
                let (cert, key) = match (intact, rng.random_bool(0.7)) {
                    (true, _) => (cert.into_bytes(), key.into_bytes()),
                    (false, true) => (mutate_pem(rng, &cert), key.into_bytes()),
                    (false, false) => (cert.into_bytes(), mutate_pem(rng, &key)),
                };
                out.extend(no_nul(cert));
                out.push(0);
                out.extend(no_nul(key));
            }
            1 => {
                out.push(1);
                let (mut password, mut der) = s.pkcs12[rng.random_range(0..s.pkcs12.len())].clone();
                if !intact {
                    if rng.random_ratio(1, 4) {
                        password = ["", "pw", "wrong", "é"][rng.random_range(0..4)].to_owned();
                    } else {
                        mutate_bytes(rng, &mut der);
                    }
                }
                out.extend(password.as_bytes());
                out.push(0);
                out.extend(der);
            }
            2 => {
                out.push(2);
                if rng.random_ratio(1, 4) {
                    let (pem, _) = &s.pem_pairs[rng.random_range(0..s.pem_pairs.len())];
                    out.extend(if intact {
                        pem.as_bytes().to_vec()
                    } else {
                        mutate_pem(rng, pem)
                    });
                } else {
                    let mut der = s.der[rng.random_range(0..s.der.len())].clone();
                    if !intact {
                        mutate_der(rng, &mut der);
                    }
                    out.extend(der);
                }
            }
            _ => {
                out.push(3);
                let (pem, _) = &s.pem_pairs[rng.random_range(0..s.pem_pairs.len())];
                out.extend(no_nul(if intact {
                    pem.as_bytes().to_vec()
                } else {
                    mutate_pem(rng, pem)
                }));
            }
        }
        out
    }
}

#[test]
fn fuzz_certificate() {
    let (mut runs, mut loaded) = (0u64, 0u64);
    drive(
        "certificate",
        10_000,
        cert_gen::generate,
        bodies::certificate::run,
        |ok| {
            runs += 1;
            loaded += u64::from(ok);
        },
    );
    println!("fuzz certificate: {loaded} of {runs} inputs loaded");
    // Intact seeds load: the success path (getters, blob round trip) is exercised.
    assert!(loaded > 0, "no certificate loaded");
}

// ----- api_sequence --------------------------------------------------------------

#[test]
fn fuzz_api_sequence() {
    drive(
        "api_sequence",
        8_000,
        |rng| {
            let n = rng.random_range(0..800);
            (0..n).map(|_| rng.random()).collect()
        },
        bodies::api_sequence::run,
        |()| {},
    );
}

// ----- the committed corpus ------------------------------------------------------

// ----- handshake ---------------------------------------------------------------

/// A response head: mostly a valid 101 for the request (`{ACCEPT}`), with the
/// RFC's variations and breakages, then a few byte-level mutations.
fn handshake_input(rng: &mut Rng) -> Vec<u8> {
    // Offer count, permessage-deflate offer, split count (bodies/handshake.rs).
    let mut out = vec![
        rng.random::<u8>(),
        rng.random::<u8>(),
        rng.random_range(0..8u8),
    ];
    out.extend((0..out[2]).map(|_| rng.random::<u8>()));
    let eol = if rng.random_ratio(1, 6) { "\n" } else { "\r\n" };
    let status = *pick(
        rng,
        &[
            "101 Switching Protocols",
            "101 OK",
            "200 OK",
            "401 No",
            "404 Not Found",
            "1010 x",
            "10 x",
        ],
    );
    let mut lines = vec![format!("HTTP/1.1 {status}")];
    let pool: &[&str] = &[
        "Upgrade: websocket",
        "upgrade: WebSocket",
        "Upgrade: h2c",
        "Connection: Upgrade",
        "Connection: keep-alive, upgrade",
        "Connection: close",
        "Sec-WebSocket-Accept: {ACCEPT}",
        "Sec-WebSocket-Accept: {ACCEPT}",
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "Sec-WebSocket-Protocol: chat",
        "Sec-WebSocket-Protocol: superchat",
        "Sec-WebSocket-Protocol: other",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=13",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Extensions: permessage-deflate; x=1, other",
        "WWW-Authenticate: Basic realm=x",
        "Server: fuzz",
        "X-Empty:",
    ];
    for _ in 0..rng.random_range(0..7) {
        lines.push(pick(rng, pool).to_string());
    }
    if rng.random_ratio(3, 4) {
        lines.splice(
            1..1,
            [
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Accept: {ACCEPT}",
            ]
            .map(String::from),
        );
    }
    let mut head = lines.join(eol) + eol + eol;
    if rng.random_ratio(1, 4) {
        head.push_str("\u{82}\u{2}ok"); // frames after the head
    }
    let mut bytes = head.into_bytes();
    for _ in 0..rng.random_range(0..3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..3) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes.truncate(at),
            _ => bytes.insert(at, *pick(rng, &[b'\r', b'\n', b':', b' ', 0, 0xFF])),
        }
    }
    out.extend(bytes);
    out
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

#[test]
fn fuzz_handshake() {
    use bodies::handshake::Outcome;
    let mut seen = std::collections::BTreeMap::<String, u64>::new();
    drive(
        "handshake",
        20_000,
        handshake_input,
        bodies::handshake::run,
        |o| {
            let kind = match o {
                Outcome::Refused(hr) => format!("refused 0x{:08X}", hr as u32),
                Outcome::Status(_) => "status".into(),
                Outcome::Accepted(_) => "accepted".into(),
                other => format!("{other:?}"),
            };
            *seen.entry(kind).or_default() += 1;
        },
    );
    println!("fuzz handshake: outcomes {seen:?}");
    for kind in [
        "accepted",
        "status",
        "Incomplete",
        "Broken",
        "refused 0x80072F78",
        "refused 0x83760003",
        "refused 0x83760004",
    ] {
        assert!(seen.contains_key(kind), "no input was {kind}");
    }
}

// ----- uri -------------------------------------------------------------------------

/// A URI from parts (schemes, hosts, ports, paths the parsers must tell apart),
/// then a few byte-level mutations; the first byte picks the parser.
fn uri_input(rng: &mut Rng) -> Vec<u8> {
    let scheme = *pick(
        rng,
        &[
            "ws", "wss", "ws", "wss", "WS", "wSs", "http", "HTTP", "", "ws:", "w s",
        ],
    );
    let sep = *pick(rng, &["://", "://", "://", "://", ":", ":/", ":///", "//"]);
    let user = *pick(
        rng,
        &["", "", "", "", "", "", "u:p@", "@", "u@", "%41:%zz@"],
    );
    let host = *pick(
        rng,
        &[
            "127.0.0.1",
            "[::1]",
            "localhost",
            "example.com",
            "EXAMPLE.com",
            "ex ample",
            "[not-ip]",
            "xn--nxasmq6b",
            "bücher.de",
            "",
            "1.2.3",
            "0x7f.1",
            "[fe80::1%25eth0]",
            "a..b",
            "-a",
        ],
    );
    let port = *pick(
        rng,
        &["", "", ":80", ":0", ":65535", ":65536", ":x", ":", ":443"],
    );
    let path = *pick(
        rng,
        &[
            "", "/", "/p", "/café", "/a b", "/%zz", "/a/../b", "\\x", "/\t", "/?",
        ],
    );
    let query = *pick(rng, &["", "?x=1", "?é", "?a b"]);
    let frag = *pick(rng, &["", "", "#f"]);
    let mut bytes = vec![rng.random::<u8>()];
    bytes.extend(format!("{scheme}{sep}{user}{host}{port}{path}{query}{frag}").into_bytes());
    for _ in 0..rng.random_range(0..3) {
        let at = rng.random_range(1..=bytes.len());
        match rng.random_range(0..3) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.random_range(0..7),
            1 => bytes.truncate(at.max(1)),
            _ => bytes.insert(
                at,
                *pick(rng, &[b'[', b']', b'@', b':', b'/', b'%', b'#', 0x7F, 0xC3]),
            ),
        }
    }
    bytes
}

#[test]
fn fuzz_uri() {
    let mut accepted = 0u64;
    let mut refused = 0u64;
    drive("uri", 50_000, uri_input, bodies::uri::run, |ok| {
        if ok {
            accepted += 1;
        } else {
            refused += 1;
        }
    });
    println!("fuzz uri: {accepted} accepted, {refused} refused");
    assert!(
        accepted > 0 && refused > 0,
        "the generator must reach both verdicts"
    );
}

/// Rewrites `fuzz/corpus/<target>/seed-*` from the generators (other files, such
/// as `regression-*`, are kept). Run by hand after changing a generator or an
/// input format: `cargo test --test fuzz -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes into the source tree"]
fn write_seed_corpus() {
    type Generator = fn(&mut Rng) -> Vec<u8>;
    let targets: [(&str, usize, Generator); 6] = [
        ("frames", 24, frame_gen::generate),
        ("handshake", 24, handshake_input),
        ("uri", 24, uri_input),
        ("data_reader", 16, data_reader_input),
        ("certificate", 24, cert_gen::generate),
        ("api_sequence", 16, |rng| {
            let n = rng.random_range(16..400);
            (0..n).map(|_| rng.random()).collect()
        }),
    ];
    for (target, count, generate) in targets {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
            {
                std::fs::remove_file(path).unwrap();
            }
        }
        let mut rng = Rng::seed_from_u64(0xC0FFEE ^ fnv(target));
        let mut written = 0;
        while written < count {
            let input = generate(&mut rng);
            // Small files: libFuzzer grows them; big ones slow every run.
            if input.len() > 4096 {
                continue;
            }
            std::fs::write(dir.join(format!("seed-{written:02}")), input).unwrap();
            written += 1;
        }
    }
}
