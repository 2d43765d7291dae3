//! Sharing: [`SshPool`] keeps one [`SshTransport`] (hence one connection) per machine, and
//! [`SshTransportFactory`] offers it to the core as a [`TransportFactory`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use autotest_core::transport::{
    LocalTransport, Transport, TransportError, TransportFactory, is_local_machine,
};

use crate::options::SshOptions;
use crate::transport::SshTransport;

/// One shared [`SshTransport`] per machine name, all made with the same options. Concurrent
/// users of a machine share its connection (within its session limit).
#[derive(Debug)]
pub struct SshPool {
    options: SshOptions,
    machines: Mutex<HashMap<String, Arc<SshTransport>>>,
}

impl SshPool {
    /// An empty pool whose transports use `options`.
    pub fn new(options: SshOptions) -> Self {
        SshPool {
            options,
            machines: Mutex::new(HashMap::new()),
        }
    }

    /// The options every transport of the pool gets.
    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// The transport for `machine` (`[user@]host[:port]`), made on first request; later requests
    /// for the same name get the same one. Fails only on a malformed name (connecting happens at
    /// the first command).
    pub fn get(&self, machine: &str) -> Result<Arc<SshTransport>, TransportError> {
        let mut map = self.machines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(machine) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(SshTransport::new(machine, self.options.clone())?);
        map.insert(machine.to_owned(), Arc::clone(&t));
        Ok(t)
    }

    /// Forgets `machine` (its connection closes when the last user drops it).
    pub fn remove(&self, machine: &str) -> Option<Arc<SshTransport>> {
        self.machines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(machine)
    }

    /// The machines the pool holds, sorted.
    pub fn machines(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .machines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Closes every connection politely (the transports stay usable and reconnect on demand).
    pub async fn disconnect_all(&self) {
        let all: Vec<Arc<SshTransport>> = self
            .machines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for t in all {
            t.disconnect().await;
        }
    }
}

/// The [`TransportFactory`] front ends hand to the core: `localhost`, `127.0.0.1` and `::1` get
/// a [`LocalTransport`] (no SSH, as Autotest did), every other machine the pooled
/// [`SshTransport`]. [`SshTransportFactory::ssh_for_localhost`] sends those names over SSH too.
#[derive(Debug, Clone)]
pub struct SshTransportFactory {
    pool: Arc<SshPool>,
    ssh_for_localhost: bool,
}

impl SshTransportFactory {
    /// A factory with its own pool.
    pub fn new(options: SshOptions) -> Self {
        Self::with_pool(Arc::new(SshPool::new(options)))
    }

    /// A factory over an existing pool (shared with other users).
    pub fn with_pool(pool: Arc<SshPool>) -> Self {
        SshTransportFactory {
            pool,
            ssh_for_localhost: false,
        }
    }

    /// Reaches `localhost` over SSH as well, instead of running commands locally.
    pub fn ssh_for_localhost(mut self, on: bool) -> Self {
        self.ssh_for_localhost = on;
        self
    }

    /// The pool behind the factory.
    pub fn pool(&self) -> &Arc<SshPool> {
        &self.pool
    }
}

impl TransportFactory for SshTransportFactory {
    fn open(&self, machine: &str) -> Result<Arc<dyn Transport>, TransportError> {
        if is_local_machine(machine) && !self.ssh_for_localhost {
            return Ok(Arc::new(LocalTransport::new(machine)));
        }
        Ok(self.pool.get(machine)? as Arc<dyn Transport>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_transport_per_machine_and_localhost_stays_local() {
        let f = SshTransportFactory::new(SshOptions::default());
        let a = f.pool().get("bob@h1:2222").unwrap();
        let b = f.pool().get("bob@h1:2222").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.target().port, 2222);
        assert_eq!(f.pool().machines(), vec!["bob@h1:2222".to_owned()]);
        assert!(format!("{:?}", f.open("localhost").unwrap()).contains("LocalTransport"));
        assert!(format!("{:?}", f.open("h2").unwrap()).contains("SshTransport"));
        let e = f.open("h:notaport").unwrap_err();
        assert!(e.to_string().contains("[user@]host[:port]"), "{e}");
        let ssh_local = f.clone().ssh_for_localhost(true);
        assert!(format!("{:?}", ssh_local.open("localhost").unwrap()).contains("SshTransport"));
    }
}
