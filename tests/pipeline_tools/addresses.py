"""The addresses the pipeline-tool tests share: the generator builds traffic
with them, check_tools.py writes the VTEP configs with them. Standard
library only."""

VNI = 5001
VNI_GROUP = 5003            # a VNI that floods to a multicast group
GROUP4 = "239.1.1.1"
GROUP4_MAC = "01:00:5e:01:01:01"  # RFC 1112 6.4

# VTEP A encapsulates, VTEP B decapsulates; C is a third VTEP for learning
# and flooding; SPOOFER is no member of any VNI.
PA = {
    "a": {4: "10.0.0.1", 6: "2001:db8::1"},
    "b": {4: "10.0.0.2", 6: "2001:db8::2"},
    "c": {4: "10.0.0.3", 6: "2001:db8::3"},
    "spoofer": {4: "10.0.0.9", 6: "2001:db8::9"},
}
UNDERLAY_MAC = {"a": "02:00:00:00:0a:01", "b": "02:00:00:00:0b:01", "c": "02:00:00:00:0c:01"}
ROUTER_MAC = {"a": "02:00:00:00:0a:fe", "b": "02:00:00:00:0b:fe"}

# Tenant VMs: VM_A behind A; VM_B behind B (a static entry at A); VM_C
# behind C, known to A only once A has learned it.
VM_A = "02:00:00:01:00:01"
VM_B = "02:00:00:01:00:02"
VM_C = "02:00:00:01:00:03"
IP_A = {4: "192.168.1.1", 6: "fd00::1"}
IP_B = {4: "192.168.1.2", 6: "fd00::2"}
IP_C = {4: "192.168.1.3", 6: "fd00::3"}
