//! Public-key authentication: the identity files in order, then the ssh-agent's keys.

use std::path::Path;
use std::sync::Arc;

use russh::client::Handle;
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};

use super::Client;
use crate::options::{SshOptions, SshTarget};

/// Tries every key; `Err` says what was tried and how to fix it.
pub(super) async fn authenticate(
    handle: &mut Handle<Client>,
    target: &SshTarget,
    opts: &SshOptions,
) -> Result<(), String> {
    let mut tried: Vec<String> = Vec::new();
    for path in &opts.identity_files {
        match try_file(handle, &target.user, path).await {
            Ok(true) => return Ok(()),
            Ok(false) => tried.push(format!("{} (refused)", path.display())),
            Err(why) => tried.push(format!("{} ({why})", path.display())),
        }
        if handle.is_closed() {
            return Err(format!("tried {}", tried.join(", ")));
        }
    }
    let socket = opts.agent_socket.clone().or_else(|| {
        std::env::var_os("SSH_AUTH_SOCK")
            .filter(|s| !s.is_empty())
            .map(Into::into)
    });
    if let (true, Some(socket)) = (opts.use_agent, socket) {
        match try_agent(handle, &target.user, &socket, &mut tried).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(why) => tried.push(format!("ssh-agent ({why})")),
        }
    }
    let tried = if tried.is_empty() {
        "no key to offer: no identity file exists and no ssh-agent is available".to_owned()
    } else {
        format!("tried {}", tried.join(", "))
    };
    Err(format!(
        "no key was accepted for {user}@{host} ({tried}); install the public key in \
         ~{user}/.ssh/authorized_keys on the machine (e.g. `ssh-copy-id {port}{user}@{host}`), \
         or set the identity file, or load the key into ssh-agent",
        user = target.user,
        host = target.host_for_display(),
        port = if target.port == 22 {
            String::new()
        } else {
            format!("-p {} ", target.port)
        },
    ))
}

/// One identity file. `Ok(false)`: the server refused it; `Err`: it could not be used.
async fn try_file(handle: &mut Handle<Client>, user: &str, path: &Path) -> Result<bool, String> {
    let owned = path.to_owned();
    let key = tokio::task::spawn_blocking(move || russh::keys::load_secret_key(&owned, None))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| match e {
            russh::keys::Error::KeyIsEncrypted => {
                "protected by a passphrase: load it into ssh-agent".to_owned()
            }
            other => other.to_string(),
        })?;
    let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
    let result = handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(|e| e.to_string())?;
    Ok(result.success())
}

/// Every plain key the agent holds.
async fn try_agent(
    handle: &mut Handle<Client>,
    user: &str,
    socket: &Path,
    tried: &mut Vec<String>,
) -> Result<bool, String> {
    let mut agent = AgentClient::connect_uds(socket)
        .await
        .map_err(|e| format!("cannot reach the agent at {}: {e}", socket.display()))?;
    if let Some(binding) = handle.agent_session_binding() {
        // Destination-constrained keys need the binding; agents without the extension refuse it.
        let _ = agent.bind_session(binding, false).await;
    }
    let identities = agent
        .request_identities()
        .await
        .map_err(|e| e.to_string())?;
    for identity in identities {
        let AgentIdentity::PublicKey { key, comment } = identity else {
            continue;
        };
        let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
        match handle
            .authenticate_publickey_with(user, key, hash, &mut agent)
            .await
        {
            Ok(r) if r.success() => return Ok(true),
            Ok(_) => tried.push(format!("agent key {comment:?} (refused)")),
            Err(e) => tried.push(format!("agent key {comment:?} ({e})")),
        }
        if handle.is_closed() {
            break;
        }
    }
    Ok(false)
}

/// The best RSA signature hash the server accepts (SHA-512 or SHA-256 where it says so).
async fn rsa_hash(handle: &Handle<Client>, is_rsa: bool) -> Option<HashAlg> {
    if !is_rsa {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}
