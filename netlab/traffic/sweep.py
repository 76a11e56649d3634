"""Who answers on a lab subnet: an ARP sweep (layer 2) or a ping sweep (layer 3)."""

from __future__ import annotations

import ipaddress

from netlab.traffic.scapyns import scapy_here


def arp_sweep(subnet: str, timeout: float = 1.0) -> list[dict]:
    """Run in the node: [{"ip", "mac"}] of every host on ``subnet`` that answers ARP."""
    conf = scapy_here()
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    net = ipaddress.ip_network(subnet, strict=False)
    iface = conf.route.route(str(next(net.hosts())))[0]
    answered, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=str(net)), iface=iface, timeout=timeout)
    return sorted(({"ip": r[ARP].psrc, "mac": r[ARP].hwsrc} for _, r in answered),
                  key=lambda h: ipaddress.ip_address(h["ip"]))


def ping_sweep(subnet: str, timeout: float = 1.0) -> list[dict]:
    """Run in the node: [{"ip"}] of every host on ``subnet`` that answers an ICMP echo."""
    scapy_here()
    from scapy.layers.inet import ICMP, IP
    from scapy.sendrecv import sr

    net = ipaddress.ip_network(subnet, strict=False)
    answered, _ = sr(IP(dst=[str(h) for h in net.hosts()]) / ICMP(), timeout=timeout)
    return sorted(({"ip": r[IP].src} for _, r in answered), key=lambda h: ipaddress.ip_address(h["ip"]))
