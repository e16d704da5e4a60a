//! `%DOWNSTREAM_PEER_URI_SAN%` in a real Envoy: a TLS listener that requires a client
//! certificate (made here with the `openssl` command, a CA, a server and a client with two URI
//! SANs), request-decorator copying the SAN into a header, as its Lua reference and as its
//! Wasm module, a client (`curl`) presenting the certificate. Both give the first URI SAN, as the
//! in-process harness does for the same certificate.

// A test fails by panicking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moonshift_harness::scenario::{self, Scenario, Subject};
use moonshift_harness::wasm::WasmModule;
use moonshift_tests::envoy::{self, Envoy, Launch};
use moonshift_tests::paths;
use moonshift_tests::runner::{self, Flavour};
use moonshift_tests::upstream::Upstream;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const FIRST_SAN: &str = "spiffe://cluster.local/ns/shop/sa/web";
const SECOND_SAN: &str = "spiffe://cluster.local/ns/shop/sa/batch";

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed by this test and CI installs it: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate with two URI SANs.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca = [
        &["req", "-x509"][..],
        &key,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=moonshift test CA",
        ],
    ]
    .concat();
    run(dir, "openssl", &ca);
    for (name, san) in [
        ("server", "subjectAltName=IP:127.0.0.1".to_string()),
        (
            "client",
            format!("subjectAltName=URI:{FIRST_SAN},URI:{SECOND_SAN}"),
        ),
    ] {
        let subject = format!("/CN={name}");
        let (key_file, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.join(&ext), format!("{san}\n")).unwrap();
        let request = [
            &["req"][..],
            &key,
            &["-keyout", &key_file, "-out", &csr, "-subj", &subject],
        ]
        .concat();
        run(dir, "openssl", &request);
        run(
            dir,
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

/// The listener of `config` made TLS, requiring a client certificate signed by the CA.
fn with_tls(mut config: Value, dir: &Path) -> Value {
    let file = |name: &str| json!({"filename": dir.join(name).display().to_string()});
    config["static_resources"]["listeners"][0]["filter_chains"][0]["transport_socket"] = json!({
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "require_client_certificate": true,
            "common_tls_context": {
                "tls_certificates": [{"certificate_chain": file("server.pem"), "private_key": file("server.key")}],
                "validation_context": {"trusted_ca": file("ca.pem")},
            },
        },
    });
    config
}

#[test]
fn the_peer_uri_san_is_the_first_uri_san_in_envoy_as_in_process() {
    let dir = envoy::scratch_dir("peer-uri-san");
    certificates(&dir);
    let config = json!({"operations": [{"action": "set", "name": "x-peer", "value": "%DOWNSTREAM_PEER_URI_SAN%"}]});
    let mut seen = Vec::new();
    for flavour in [Flavour::Lua, Flavour::Wasm] {
        let entry =
            runner::filter_entry("request-decorator", Some(&config), flavour, &dir).unwrap();
        let upstream = Upstream::start();
        let envoy = Envoy::try_start_with(
            &format!("peer-uri-san-{flavour:?}"),
            &Launch::default(),
            |port, admin| {
                with_tls(
                    envoy::bootstrap(port, admin, upstream.port, std::slice::from_ref(&entry)),
                    &dir,
                )
            },
        )
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
        let url = format!("https://127.0.0.1:{}/", envoy.port);
        let status = run(
            &dir,
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                "ca.pem",
                "--cert",
                "client.pem",
                "--key",
                "client.key",
                &url,
            ],
        );
        assert_eq!(status, "200", "{flavour:?}: {}", envoy.log());
        let received = upstream.received();
        let peer = received
            .last()
            .map(|r| r.values("x-peer"))
            .unwrap_or_default();
        seen.push((flavour, peer));
    }
    // In-process, the same certificate's SANs.
    let scenario: Scenario = serde_json::from_value(json!({
        "name": "peer URI SAN",
        "config": config,
        "not_in_envoy": "TLS",
        "exchanges": [{"peer_uri_sans": [FIRST_SAN, SECOND_SAN], "expect": {"upstream": {"x-peer": [FIRST_SAN]}}}],
    }))
    .unwrap();
    let subject = Subject {
        name: "request-decorator".into(),
        lua_source: std::fs::read_to_string(paths::lua_reference("request-decorator")).unwrap(),
        module: WasmModule::load(&paths::wasm_module("request-decorator")).unwrap(),
    };
    let report = scenario::run(&subject, &scenario).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    for (flavour, peer) in seen {
        assert_eq!(peer, [FIRST_SAN], "{flavour:?} in Envoy");
    }
}
