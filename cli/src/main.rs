//! The `planetgym` binary (the command line itself is the library, `planetgym_cli::run`).

/// mimalloc, keeping freed memory (see `planetgym_training::allocator`).
#[global_allocator]
static ALLOCATOR: planetgym_training::allocator::Allocator =
    planetgym_training::allocator::Allocator;

fn main() {
    std::process::exit(planetgym_cli::run(std::env::args_os()));
}
