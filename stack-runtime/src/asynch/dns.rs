//! Async DNS: [`AsyncStack::resolve`] over `dns_query`/`dns_result`, and
//! `embedded_nal_async::Dns` for [`AsyncStack`].

use core::future::poll_fn;
use core::net::{IpAddr, Ipv4Addr};
use core::task::Poll;

use super::{AsyncStack, Dir, Error, Inner};
use crate::dns::{DnsError, DnsQueryHandle};

/// Cancels a lookup whose future was dropped before it finished.
struct Pending<'s, 'a> {
    stack: &'s AsyncStack<'a>,
    handle: Option<DnsQueryHandle>,
}

impl Drop for Pending<'_, '_> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.stack.inner().stack.dns_cancel(h);
        }
    }
}

impl AsyncStack<'_> {
    /// Look up the A record of `name` (an IPv4 literal is returned as is). Waits for the
    /// resolver (feature `dns`, enabled with [`Stack::enable_dns`](crate::Stack::enable_dns))
    /// to answer, time out or fail; dropping the future cancels the lookup.
    pub async fn resolve(&self, name: &str) -> Result<Ipv4Addr, Error> {
        if let Ok(addr) = name.parse::<Ipv4Addr>() {
            return Ok(addr);
        }
        let handle = {
            let mut inner = self.inner();
            if inner.wakers.dns.is_empty() {
                return Err(Error::NoWakerSlot);
            }
            let h = inner.stack.dns_query(name).map_err(Error::Dns)?;
            inner.wake_runner();
            h
        };
        let mut pending = Pending {
            stack: self,
            handle: Some(handle),
        };
        let result = poll_fn(|cx| {
            let mut inner = self.inner();
            match inner.stack.dns_result(handle) {
                Err(DnsError::WouldBlock) => {
                    // Every lookup's waiters are woken after each poll: any slot not held by
                    // another task will do.
                    let dns = &mut *inner.wakers.dns;
                    let i = dns
                        .iter()
                        .position(|w| w.rx.as_ref().is_none_or(|p| p.waker.will_wake(cx.waker())))
                        .unwrap_or(0);
                    Inner::park(dns, i, Dir::Rx, cx.waker(), 0);
                    Poll::Pending
                }
                r => Poll::Ready(r),
            }
        })
        .await;
        // The result was taken: the query slot is already free.
        pending.handle = None;
        result.map_err(Error::Dns)
    }
}

impl embedded_nal_async::Dns for AsyncStack<'_> {
    type Error = Error;

    async fn get_host_by_name(
        &self,
        host: &str,
        addr_type: embedded_nal_async::AddrType,
    ) -> Result<IpAddr, Error> {
        if addr_type == embedded_nal_async::AddrType::IPv6 {
            return Err(Error::Ipv6Unsupported);
        }
        self.resolve(host).await.map(IpAddr::V4)
    }

    /// Reverse lookups (PTR) are not implemented by the resolver.
    async fn get_host_by_address(&self, _addr: IpAddr, _result: &mut [u8]) -> Result<usize, Error> {
        Err(Error::Unsupported)
    }
}
