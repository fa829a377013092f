// Compiles the etcd v3 protos (src/etcd/proto) into Rust for the builtin etcd server.
//
// The .proto files are parsed with protox, a pure-Rust protobuf compiler, instead of
// protoc: there is no protoc on the build machines and we do not want users to need one.
// protox yields a FileDescriptorSet, which tonic-prost-build turns into prost messages
// plus tonic server traits and clients in OUT_DIR.

use std::path::PathBuf;

/// Directory of the .proto files, relative to the crate root.
const PROTO_DIR: &str = "src/etcd/proto";
/// Files compiled, relative to PROTO_DIR (imports are resolved from there too).
const PROTOS: &[&str] = &["mvcc.proto", "rpc.proto"];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let proto_dir = root.join(PROTO_DIR);

    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for file in PROTOS {
        println!("cargo:rerun-if-changed={PROTO_DIR}/{file}");
    }
    println!("cargo:rerun-if-changed=src/build.rs");

    let fds = match protox::compile(PROTOS, [&proto_dir]) {
        Ok(fds) => fds,
        Err(err) => panic!("compiling the etcd protos in {PROTO_DIR}: {err:?}"),
    };

    tonic_prost_build::configure()
        // Clients too: `kwb bench etcd` and the tests talk to any etcd through them.
        .build_client(true)
        .build_server(true)
        .build_transport(true)
        .compile_fds(fds)
        .unwrap_or_else(|err| panic!("generating Rust code for the etcd protos: {err}"));
}
