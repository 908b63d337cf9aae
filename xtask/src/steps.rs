//! The step runner of `test`, `demo` and `dist`: each step is a command (or
//! an in-process check) with a time limit and a hint for its failure; the
//! runner prints each with its duration, adds up the test runners' result
//! lines and ends with a summary.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::project::wait_with_limit;
use crate::wine::kill_wineserver;

/// One step of a command: what it runs, its time limit, and what to look at
/// when it fails.
pub struct Step<'a> {
    name: &'a str,
    cmd: Command,
    limit: Option<Duration>,
    /// Read the command's stdout for test-result lines and add them up.
    count_tests: bool,
    /// Explains a failure, given the exit code (if the process exited).
    hint: Box<dyn Fn(Option<i32>) -> String + 'a>,
}

impl<'a> Step<'a> {
    pub fn new(name: &'a str, cmd: Command) -> Self {
        Step {
            name,
            cmd,
            limit: None,
            count_tests: false,
            hint: Box::new(|_| String::new()),
        }
    }

    pub fn count_tests(mut self) -> Self {
        self.count_tests = true;
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(name, value);
        self
    }

    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn hint(mut self, hint: impl Fn(Option<i32>) -> String + 'a) -> Self {
        self.hint = Box::new(hint);
        self
    }
}

/// Runs steps one after the other, printing each with its duration, and
/// keeps the record for the final summary.
pub struct Steps {
    started: Instant,
    done: Vec<(String, Duration, bool)>,
    /// Tests passed and failed, added up from the test runners' result lines.
    tests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    failed_tests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Parses "test result: ok. 12 passed; 0 failed; …" (cargo test) and
/// "name: 38 passed, 0 failed" (the C++ host): (passed, failed).
fn parse_result_line(line: &str) -> Option<(u64, u64)> {
    let number_before = |word: &str| -> Option<u64> {
        let at = line.find(word)?;
        line[..at].split_whitespace().last()?.parse().ok()
    };
    if !(line.starts_with("test result:") || line.contains(" passed, ")) {
        return None;
    }
    Some((number_before(" passed")?, number_before(" failed")?))
}

impl Steps {
    pub fn new() -> Self {
        Steps {
            started: Instant::now(),
            done: Vec::new(),
            tests: Default::default(),
            failed_tests: Default::default(),
        }
    }

    pub fn run(&mut self, step: Step<'_>) -> Result<(), String> {
        let Step {
            name,
            mut cmd,
            limit,
            count_tests,
            hint,
        } = step;
        eprintln!("==> {name}");
        let t0 = Instant::now();
        let (tests, failed_tests) = (self.tests.clone(), self.failed_tests.clone());
        let result = (|| {
            if count_tests {
                cmd.stdout(Stdio::piped());
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("could not start it: {e}"))?;
            let reader = child.stdout.take().map(|out| {
                std::thread::spawn(move || {
                    use std::io::BufRead;
                    use std::sync::atomic::Ordering::Relaxed;
                    for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                        println!("{line}");
                        if let Some((p, f)) = parse_result_line(&line) {
                            tests.fetch_add(p, Relaxed);
                            failed_tests.fetch_add(f, Relaxed);
                        }
                    }
                })
            });
            let status = match limit {
                None => child.wait().map_err(|e| e.to_string())?,
                Some(limit) => match wait_with_limit(&mut child, limit) {
                    Ok(Some(status)) => status,
                    Ok(None) | Err(_) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        // A Windows program may hang on in the prefix.
                        kill_wineserver();
                        return Err(format!("did not finish within {} s", limit.as_secs()));
                    }
                },
            };
            if let Some(reader) = reader {
                let _ = reader.join();
            }
            if status.success() {
                Ok(())
            } else {
                let code = status.code();
                let extra = hint(code);
                let sep = if extra.is_empty() { "" } else { ": " };
                Err(format!("{status}{sep}{extra}"))
            }
        })();
        let elapsed = t0.elapsed();
        let ok = result.is_ok();
        eprintln!(
            "    {} ({:.1} s)",
            if ok { "ok" } else { "FAILED" },
            elapsed.as_secs_f64()
        );
        self.done.push((name.to_owned(), elapsed, ok));
        result.map_err(|e| format!("step \"{name}\" failed: {e}"))
    }

    /// A step done in-process (not a command), timed like the others.
    pub fn record(
        &mut self,
        name: &str,
        f: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        eprintln!("==> {name}");
        let t0 = Instant::now();
        let result = f();
        let elapsed = t0.elapsed();
        eprintln!(
            "    {} ({:.1} s)",
            if result.is_ok() { "ok" } else { "FAILED" },
            elapsed.as_secs_f64()
        );
        self.done.push((name.to_owned(), elapsed, result.is_ok()));
        result.map_err(|e| format!("step \"{name}\" failed: {e}"))
    }

    /// Prints every step with its duration and a final line.
    pub fn summary(&self, what: &str, result: &Result<(), String>) {
        let total = self.started.elapsed().as_secs_f64();
        eprintln!("\n==> summary of {what}");
        for (name, elapsed, ok) in &self.done {
            eprintln!(
                "    {:>7.1} s  {}  {name}",
                elapsed.as_secs_f64(),
                if *ok { "ok    " } else { "FAILED" }
            );
        }
        match result {
            Ok(()) => eprintln!(
                "==> {what}: all {} steps passed in {total:.0} s",
                self.done.len()
            ),
            Err(_) => eprintln!(
                "==> {what}: FAILED after {} steps, {total:.0} s (the failing step's message follows)",
                self.done.len()
            ),
        }
        use std::sync::atomic::Ordering::Relaxed;
        let (passed, failed) = (self.tests.load(Relaxed), self.failed_tests.load(Relaxed));
        if passed + failed > 0 {
            // Totals of every test runner above (cargo test on Linux and under
            // Wine, the C++ host), on a line of their own.
            println!("tests: {passed} passed, {failed} failed");
        }
    }
}
