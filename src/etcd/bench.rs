//! `kwb bench etcd --endpoints URL`: the figures issue after issue compares between the builtin
//! etcd and Debian's: put throughput with 1 and 16 clients, range latency over 10k keys, watch
//! delivery latency, and optionally the server's RSS. Run it against both, side by side.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_stream::StreamExt;

use super::client::{Client, Tls};
use super::proto::etcdserverpb::{
    PutRequest, RangeRequest, WatchCreateRequest, WatchRequest, watch_request,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The endpoint to measure, e.g. https://127.0.0.1:2379.
    #[arg(long)]
    pub endpoints: String,
    #[command(flatten)]
    pub tls: Tls,
    /// The server's pid, to report its RSS at the end.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Seconds each throughput run lasts.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// A label for the summary line (e.g. builtin, debian).
    #[arg(long, default_value = "etcd")]
    pub label: String,
}

/// The `p` quantile (0..=1) of sorted samples; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A duration in milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Puts from `clients` concurrent connections for `secs` seconds; returns puts per second.
async fn put_throughput(args: &Args, clients: usize, value: &[u8]) -> anyhow::Result<f64> {
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(Client::connect(&args.endpoints, &args.tls).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let value = value.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("/bench/put/{i}/{}", n % 1000).into_bytes();
                c.kv.put(PutRequest {
                    key,
                    value: value.clone(),
                    ..Default::default()
                })
                .await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total as f64 / t0.elapsed().as_secs_f64())
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let value = vec![b'v'; 256];
    let mut c = Client::connect(&args.endpoints, &args.tls).await?;
    println!(
        "etcd bench: {} ({}), 256-byte values, {} s per throughput run",
        args.endpoints, args.label, args.seconds
    );

    let put1 = put_throughput(&args, 1, &value).await?;
    println!("put, 1 client                 {put1:>9.0} /s");
    let put16 = put_throughput(&args, 16, &value).await?;
    println!("put, 16 clients               {put16:>9.0} /s");

    // 10k keys, written by 16 clients at once.
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let mut c = Client::connect(&args.endpoints, &args.tls).await?;
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..10_000).step_by(16) {
                let key = format!("/bench/range/{i:05}").into_bytes();
                c.kv.put(PutRequest {
                    key,
                    value: value.clone(),
                    ..Default::default()
                })
                .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut lat = Vec::with_capacity(2000);
    for i in 0..2000u32 {
        let key = format!("/bench/range/{:05}", (i * 7919) % 10_000).into_bytes();
        let t = Instant::now();
        let r =
            c.kv.range(RangeRequest {
                key,
                ..Default::default()
            })
            .await?
            .into_inner();
        lat.push(t.elapsed());
        anyhow::ensure!(r.kvs.len() == 1, "a key of the 10k is missing");
    }
    lat.sort();
    let (g50, g99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "get of one key of 10k         p50 {:>6.2} ms  p99 {:>6.2} ms",
        ms(g50),
        ms(g99)
    );
    let mut all = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let r =
            c.kv.range(RangeRequest {
                key: b"/bench/range/".to_vec(),
                range_end: b"/bench/range0".to_vec(),
                ..Default::default()
            })
            .await?
            .into_inner();
        all.push(t.elapsed());
        anyhow::ensure!(
            r.kvs.len() == 10_000,
            "range returned {} keys, not 10000",
            r.kvs.len()
        );
    }
    all.sort();
    let (r50, r99) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!(
        "range of all 10k keys         p50 {:>6.2} ms  p99 {:>6.2} ms",
        ms(r50),
        ms(r99)
    );

    // Watch delivery: from sending a put to receiving its event.
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tx.send(WatchRequest {
        request_union: Some(watch_request::RequestUnion::CreateRequest(
            WatchCreateRequest {
                key: b"/bench/watch/".to_vec(),
                range_end: b"/bench/watch0".to_vec(),
                ..Default::default()
            },
        )),
    })
    .await?;
    let mut events = c
        .watch
        .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    let created = events.next().await.context("the watch stream closed")??;
    anyhow::ensure!(created.created, "the first watch response is not `created`");
    let mut wl = Vec::with_capacity(500);
    for i in 0..500 {
        let t = Instant::now();
        c.kv.put(PutRequest {
            key: format!("/bench/watch/{i}").into_bytes(),
            value: value.clone(),
            ..Default::default()
        })
        .await?;
        loop {
            let r = events.next().await.context("the watch stream closed")??;
            if !r.events.is_empty() {
                break;
            }
        }
        wl.push(t.elapsed());
    }
    drop(tx);
    wl.sort();
    let (w50, w99) = (percentile(&wl, 0.5), percentile(&wl, 0.99));
    println!(
        "put → watch event             p50 {:>6.2} ms  p99 {:>6.2} ms",
        ms(w50),
        ms(w99)
    );
    let rss = args.pid.and_then(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .split_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
    });
    let rss_text = rss.map_or("rss ?".to_string(), |kib| {
        format!("rss {:.1} MiB", kib as f64 / 1024.0)
    });
    println!(
        "summary {}: put1 {put1:.0}/s put16 {put16:.0}/s get p50 {:.2} p99 {:.2} ms, range10k p50 {:.1} ms, watch p50 {:.2} p99 {:.2} ms, {rss_text}",
        args.label,
        ms(g50),
        ms(g99),
        ms(r50),
        ms(w50),
        ms(w99)
    );
    Ok(())
}
