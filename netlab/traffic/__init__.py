"""Traffic kernel sockets cannot make, with scapy, from inside a lab node:
SYN floods, handshakes by hand, crafted packets, ARP/ping sweeps, pcap capture.
Every tool is bounded by count and time and sends to the lab's own subnets only."""
