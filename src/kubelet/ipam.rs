//! Pod IPs from the node's pod CIDR.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The free and used addresses of one IPv4 range; .0, .1 and the broadcast address are
/// never handed out.
pub struct Pool {
    base: u32,
    size: u32,
    used: BTreeSet<u32>,
}

impl Pool {
    /// A pool over `cidr` (e.g. `127.244.0.0/24`); None when it is not an IPv4 CIDR.
    pub fn new(cidr: &str) -> Option<Pool> {
        let (addr, prefix) = cidr.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u32 = prefix.parse().ok().filter(|p| *p <= 30)?;
        let size = 1u32 << (32 - prefix);
        Some(Pool {
            base: u32::from(addr) & !(size - 1),
            size,
            used: BTreeSet::new(),
        })
    }

    fn offset(&self, ip: &str) -> Option<u32> {
        let n = u32::from(ip.parse::<Ipv4Addr>().ok()?);
        let off = n.checked_sub(self.base)?;
        (off >= 2 && off < self.size - 1).then_some(off)
    }

    /// The lowest free address.
    pub fn allocate(&mut self) -> Option<String> {
        let off = (2..self.size - 1).find(|o| !self.used.contains(o))?;
        self.used.insert(off);
        Some(Ipv4Addr::from(self.base + off).to_string())
    }

    /// Marks `ip` used; false when it is outside the range or already taken.
    pub fn take(&mut self, ip: &str) -> bool {
        self.offset(ip).is_some_and(|o| self.used.insert(o))
    }

    pub fn release(&mut self, ip: &str) {
        if let Some(o) = self.offset(ip) {
            self.used.remove(&o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_handed_out_once_and_come_back() {
        let mut p = Pool::new("127.244.0.0/24").unwrap();
        assert_eq!(p.allocate().as_deref(), Some("127.244.0.2"));
        assert!(p.take("127.244.0.3"));
        assert!(!p.take("127.244.0.3"), "taken twice");
        assert!(!p.take("127.245.0.3"), "outside");
        assert_eq!(p.allocate().as_deref(), Some("127.244.0.4"));
        p.release("127.244.0.2");
        assert_eq!(p.allocate().as_deref(), Some("127.244.0.2"));
        assert!(Pool::new("nonsense").is_none());
        let mut tiny = Pool::new("127.0.0.0/30").unwrap();
        assert_eq!(tiny.allocate().as_deref(), Some("127.0.0.2"));
        assert_eq!(tiny.allocate(), None);
    }
}
