//! The e2e binary's harness: every module lists its tests with [`register!`] (with the
//! outside programs each needs), and [`run`] hands them all to libtest-mimic, which
//! keeps libtest's command line (filters, `--exact`, `--skip`, `--ignored`,
//! `--test-threads`, `--list`). A test whose need is missing is reported `ignored` with
//! the reason, or fails under `CI=true` (see [`crate::tools`]).

use crate::tools;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

/// One registered test: where it lives, its body (it passes unless it panics) and what it
/// needs from outside. Built by [`register!`].
#[derive(Debug, Clone, Copy)]
pub struct Test {
    /// `module_path!()` of the registering module (`e2e::cache`).
    pub module: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// The test itself.
    pub body: fn(),
    /// Outside programs (or other needs, see [`crate::tools`]) it cannot run without.
    pub needs: &'static [&'static str],
}

/// Registers this module's tests: `register! { a_test, #[needs("curl")] another_test }`.
/// Expands to `pub(crate) fn trials() -> Vec<Test>`, which `e2e/main.rs` lists. A test
/// function left out of the list is dead code, which the build reports.
#[macro_export]
macro_rules! register {
    ($( $(#[needs($($need:literal),+ $(,)?)])? $name:ident ),* $(,)?) => {
        /// This module's tests, for the e2e binary's `main`.
        pub(crate) fn trials() -> ::std::vec::Vec<$crate::harness::Test> {
            ::std::vec![$(
                $crate::harness::Test {
                    module: ::std::module_path!(),
                    name: ::std::stringify!($name),
                    body: $name,
                    needs: &[$($($need),+)?],
                }
            ),*]
        }
    };
}

/// Runs the tests of every module in `modules` with libtest's command line, and exits.
pub fn run(modules: &[fn() -> Vec<Test>]) -> ! {
    let args = Arguments::from_args();
    let trials = modules.iter().flat_map(|m| m()).map(trial).collect();
    libtest_mimic::run(&args, trials).exit()
}

/// `cache::edits_are_never_stale`, kind `needs curl` when it needs curl.
fn trial(test: Test) -> Trial {
    let module = test
        .module
        .split_once("::")
        .map_or(test.module, |(_, rest)| rest);
    let name = format!("{module}::{}", test.name);
    let kind = match test.needs {
        [] => String::new(),
        needs => format!("needs {}", needs.join(", ")),
    };
    let needs = test.needs;
    let body = test.body;
    let thread_name = name.clone();
    Trial::ignorable_test(name, move || {
        if let Some(reason) = tools::missing(needs) {
            if tools::in_ci() {
                return Err(format!(
                    "{reason}, and CI is set: under CI every outside program must be installed (.ci/run does)"
                )
                .into());
            }
            return Ok(Completion::ignored_with(reason));
        }
        in_named_thread(thread_name, body)?;
        Ok(Completion::Completed)
    })
    .with_kind(kind)
}

/// Runs `body` in a thread named after the test, as libtest does, so a panic message
/// says which test failed even when tests run in parallel.
fn in_named_thread(name: String, body: fn()) -> Result<(), Failed> {
    let joined = std::thread::Builder::new()
        .name(name)
        .spawn(body)
        .map_err(|e| Failed::from(format!("could not start the test's thread: {e}")))?
        .join();
    joined.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(a panic without a message)");
        Failed::from(format!("test panicked: {message}"))
    })
}
