//! `leian keys create`: make an API key for the server; the key is printed once.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use leian_server::{Role, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key bound to a court; prints the key (only now: it is stored hashed).
    Create(CreateArgs),
}

#[derive(Args)]
pub(crate) struct CreateArgs {
    /// Index dir whose `leian.sqlite` holds the keys.
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// judge, court or admin.
    #[arg(long)]
    role: Role,
    /// The court the key belongs to (its data permissions follow it).
    #[arg(long)]
    court: String,
    /// A name for the key (default `ROLE@COURT`).
    #[arg(long, default_value = "")]
    name: String,
}

pub(crate) fn run(cmd: KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Create(a) => {
            let store = Store::open_in(&a.index)
                .with_context(|| format!("opening the key store in {}", a.index.display()))?;
            let (info, secret) = store.create_key(a.role, &a.court, &a.name)?;
            eprintln!(
                "created key {} ({}, {}, {}); it is shown only once:",
                info.id,
                info.name,
                info.role.as_str(),
                info.court
            );
            println!("{secret}");
            Ok(())
        }
    }
}
