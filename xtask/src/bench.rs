//! `cargo xtask bench`: the benchmarks whose figures are in
//! docs/BENCHMARKS.md.

use crate::project::{cargo, run};

pub fn bench(rest: &[String]) -> Result<(), String> {
    let quick = rest.iter().any(|a| a == "--quick");
    let mut conv = cargo();
    conv.args(["bench", "--package", "tenuto-convert", "--bench", "convert"]);
    if quick {
        conv.args(["--", "--quick"]);
    }
    run("conversion benchmark (criterion)", conv)?;
    let mut period = cargo();
    period.args(["bench", "--package", "tenuto-engine", "--bench", "period"]);
    if quick {
        period.args(["--", "--quick"]);
    }
    run("engine per-period benchmark", period)?;
    eprintln!("==> figures and how to read them: docs/BENCHMARKS.md");
    Ok(())
}
