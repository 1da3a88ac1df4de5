"""Who is calling: the connection's peer, or, when that peer is a trusted proxy, the client it forwards for.

X-Forwarded-For, X-Real-Ip and X-Forwarded-Proto are believed only from TRUSTED_PROXIES: from anyone else
they are the caller's own words, and a forged address would get past a key's allowed subnets and another
address's rate limits."""
import functools
import ipaddress


def parse_networks(text: str) -> tuple:
    """'127.0.0.0/8, ::1' -> the networks; a bare address is a network of one. ValueError when malformed."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())


class ClientAddress:
    def __init__(self, trusted_proxies: str):
        self.networks = parse_networks(trusted_proxies)
        self.trusted = functools.lru_cache(maxsize=4096)(self._trusted)   # peers repeat: a dict look-up

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        ip = getattr(ip, "ipv4_mapped", None) or ip     # ::ffff:127.0.0.1 on a dual-stack socket
        return any(ip in network for network in self.networks)

    def apply(self, request):
        """Put the forwarded client's address and scheme on `request` when its peer is a trusted proxy."""
        if not self.networks or not self.trusted(request.remote_ip):
            return
        headers = request.headers
        # X-Real-Ip first: a proxy that sets it (nginx: $remote_addr) may pass a client's own
        # X-Forwarded-For on untouched.
        real, chain = headers.get("X-Real-Ip"), headers.get("X-Forwarded-For")
        address = (real or "").strip() or (self.forwarded_for(chain) if chain else "")
        if address and self._valid(address):
            request.remote_ip = address
        scheme = headers.get("X-Forwarded-Proto") or headers.get("X-Scheme")
        if scheme and scheme.strip().lower() in ("http", "https"):
            request.protocol = scheme.strip().lower()

    def forwarded_for(self, value: str) -> str:
        """The client in an X-Forwarded-For chain: the last hop not added by a trusted proxy (the left
        end of the chain is whatever the client chose to send)."""
        hops = [hop.strip() for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop
        return hops[0] if hops else ""

    @staticmethod
    def _valid(address: str) -> bool:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return False
        return True
