//! Writes a generated plan to stdout: `relcal-gen-plan [RELEASES] [SEED]`.
//! Without arguments: the enterprise plan (20,000 releases), seed 1.

fn main() {
    let mut args = std::env::args().skip(1);
    let mut size = relcal_testkit::Size::ENTERPRISE;
    if let Some(n) = args.next().and_then(|a| a.parse().ok()) {
        size.releases = n;
        size.dependencies = n / 10;
    }
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    println!("{}", relcal_testkit::plan(size, seed));
}
