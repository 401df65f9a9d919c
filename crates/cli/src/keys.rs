//! `leian keys create|list|revoke`: the server's API keys. A new key is printed once;
//! only its hash is stored.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use leian_server::{Role, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a key bound to a court; prints the key (only now: it is stored hashed).
    Create(CreateArgs),
    /// List keys (id, name, role, court, created, revoked); never secrets.
    List(ListArgs),
    /// Revoke a key by id; it stops working at once, also on a running server.
    Revoke(RevokeArgs),
}

#[derive(Args)]
pub(crate) struct ListArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct RevokeArgs {
    #[arg(long, default_value_os_t = crate::default_index_dir())]
    index: PathBuf,
    /// The key's id (see `leian keys list`).
    id: i64,
}

fn open_store(index: &std::path::Path) -> Result<Store> {
    Store::open_existing(index)
        .with_context(|| format!("opening the key store in {}", index.display()))
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
            let store = open_store(&a.index)?;
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
        KeysCommand::List(a) => {
            let keys = open_store(&a.index)?.list_keys()?;
            for k in &keys {
                if a.json {
                    println!("{}", serde_json::to_string(k)?);
                } else {
                    println!(
                        "{:>4}  {:<6} {:<24} {:<30} created {}{}",
                        k.key.id,
                        k.key.role.as_str(),
                        k.key.court,
                        k.key.name,
                        k.created_at,
                        k.revoked_at
                            .as_deref()
                            .map(|t| format!("  REVOKED {t}"))
                            .unwrap_or_default()
                    );
                }
            }
            if keys.is_empty() {
                eprintln!("no keys in {}", a.index.display());
            }
            Ok(())
        }
        KeysCommand::Revoke(a) => {
            if open_store(&a.index)?.revoke_key(a.id)? {
                eprintln!("revoked key {}", a.id);
                Ok(())
            } else {
                anyhow::bail!("no active key with id {} in {}", a.id, a.index.display())
            }
        }
    }
}
