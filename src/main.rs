mod aws;
mod collect;
mod error;

fn main() {}
