// Compiles the etcd v3 protos (src/etcd/proto) into Rust for the builtin etcd server, and the
// Kubernetes wire layouts (src/apiserver/proto) into a descriptor set for the apiserver.
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

/// The Kubernetes wire layouts, for decoding kubectl's protobuf bodies with prost-reflect.
const K8S_PROTO_DIR: &str = "src/apiserver/proto";

/// Compiles every .proto under K8S_PROTO_DIR into one descriptor set in OUT_DIR.
fn k8s_descriptors(root: &std::path::Path) {
    use prost::Message;
    fn protos(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                protos(&path, base, out);
            } else if path.extension().is_some_and(|x| x == "proto") {
                let rel = path.strip_prefix(base).expect("under the proto dir");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let dir = root.join(K8S_PROTO_DIR);
    println!("cargo:rerun-if-changed={K8S_PROTO_DIR}");
    let mut files = Vec::new();
    protos(&dir, &dir, &mut files);
    for f in &files {
        println!("cargo:rerun-if-changed={K8S_PROTO_DIR}/{f}");
    }
    let fds = protox::compile(&files, [&dir])
        .unwrap_or_else(|e| panic!("compiling the Kubernetes protos in {K8S_PROTO_DIR}: {e:?}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("k8s_descriptors.bin"), fds.encode_to_vec())
        .expect("writing the Kubernetes descriptor set to OUT_DIR");
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let proto_dir = root.join(PROTO_DIR);

    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for file in PROTOS {
        println!("cargo:rerun-if-changed={PROTO_DIR}/{file}");
    }
    println!("cargo:rerun-if-changed=src/build.rs");
    k8s_descriptors(&root);

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
