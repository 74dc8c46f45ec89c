//! The `dlscope` binary: parse arguments, call the libraries, map errors to exit codes.

mod cmd;

use clap::Parser;

fn main() {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => {}
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}
