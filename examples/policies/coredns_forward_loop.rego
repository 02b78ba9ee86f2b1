# METADATA
# title: CoreDNS Corefile that forwards queries back to CoreDNS (forwarding loop)
# description: |
#   Reports ConfigMaps in `kube-system` that hold a CoreDNS `Corefile` (kubeadm's and EKS's
#   `coredns`, RKE2's `rke2-coredns-rke2-coredns`...) with a server block that forwards
#   queries back to CoreDNS itself. Two cases are certain enough to report:
#
#   1. **A loopback upstream.** `forward . 127.0.0.53` (any 127.0.0.0/8 address, or `::1`) on
#      the port CoreDNS listens on (53 unless the server block says otherwise). Inside the
#      CoreDNS Pod the loopback address is the Pod itself, so CoreDNS sends each query to
#      itself, over and over.
#   2. **systemd-resolved's stub reaching CoreDNS through `/etc/resolv.conf`.** The block
#      forwards to `/etc/resolv.conf`, which in the CoreDNS Pod (`dnsPolicy: Default`) is the
#      file the kubelet's `resolvConf` names; kubeadm's kubelet configuration (ConfigMap
#      `kube-system/kubelet-config`) sets `resolvConf` to `/etc/resolv.conf` (or to
#      `/run/systemd/resolve/stub-resolv.conf`); and at least one Node runs a distribution whose
#      default `/etc/resolv.conf` is systemd-resolved's stub, `nameserver 127.0.0.53`: Ubuntu
#      18.04 or later, Fedora 33 or later (Fedora CoreOS included). CoreDNS then forwards to
#      127.0.0.53, case 1 again. This is the situation the CoreDNS `loop` plugin's
#      troubleshooting section describes.
#
#   With the `loop` plugin in the block, CoreDNS detects the loop at start-up and exits
#   (`plugin/loop: Loop ... detected`), so its Pods crash-loop and cluster DNS is down.
#   Without it, queries circle until CoreDNS runs out of memory.
#
#   What is *not* reported, on purpose:
#   - `forward . /etc/resolv.conf` on Ubuntu Nodes without kubeadm's kubelet configuration in
#     the scan, or with one that does not set `resolvConf`: kubeadm (since 1.19, per Node on
#     recent releases) and managed offerings such as AKS point the kubelet at
#     `/run/systemd/resolve/resolv.conf` when systemd-resolved runs, and nothing in the API
#     shows a per-Node setting, so the loop cannot be established.
#   - A missing `loop` plugin alone: it is a safety net, not a loop.
#   - Server blocks with a `bind` plugin (NodeLocal DNSCache, which runs in the host network
#     and listens on chosen addresses only) and loopback upstreams on another port (a local
#     cache sidecar): those need not reach CoreDNS.
# related_resources:
#   - https://coredns.io/plugins/loop/#troubleshooting-loops-in-kubernetes-clusters
#   - https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/#known-issues
#   - https://fedoraproject.org/wiki/Changes/systemd-resolved
# custom:
#   id: coredns_forward_loop
#   level: Error
#   solution: |
#     - Loopback upstream: forward to real resolvers instead (`forward . 192.0.2.53`, your
#       network's DNS servers), or to `/etc/resolv.conf` when the kubelet gives Pods a real one.
#     - systemd-resolved: set `resolvConf: /run/systemd/resolve/resolv.conf` (the file with the
#       real upstream servers) in the kubelet configuration of the affected Nodes
#       (`/var/lib/kubelet/config.yaml`, and in `kube-system/kubelet-config` so that
#       `kubeadm join`/`upgrade` keep it), restart the kubelet, then restart CoreDNS:
#       `kubectl -n kube-system rollout restart deployment coredns`. Pointing CoreDNS at a
#       fixed upstream only fixes CoreDNS: Pods with `dnsPolicy: Default` keep the stub.
#     - Keep the `loop` plugin in every server block that forwards.
#   example: |
#     # kube-system/coredns
#     Corefile: |
#       .:53 {
#           forward . 127.0.0.53    # fires: that is CoreDNS itself
#           loop
#       }
#   labels: [networking, dns, reliability]
#   requires: [configmaps, nodes]
package detek.coredns_forward_loop

# Source: CoreDNS loop plugin, "Troubleshooting Loops In Kubernetes Clusters",
# https://coredns.io/plugins/loop/#troubleshooting-loops-in-kubernetes-clusters (systemd-resolved
# puts 127.0.0.53 in /etc/resolv.conf, the kubelet hands that file to Pods with the default
# DNS policy, CoreDNS forwards to itself; fix: kubelet resolvConf pointing at the real file).

# Case 1: a loopback upstream on a port CoreDNS listens on.
findings contains {
	"object": {"kind": "ConfigMap", "namespace": "kube-system", "name": corefile.name},
	"message": sprintf(
		"server block %s forwards %s to %s, a loopback address that inside the CoreDNS Pod is CoreDNS itself: a forwarding loop; %s",
		[block.zones, fwd.from, upstream, consequence(block)],
	),
	"evidence": sprintf("Corefile: %s", [fwd.line]),
} if {
	some corefile in corefiles
	some block in corefile.blocks
	not block.has_bind
	some fwd in block.forwards
	some upstream in fwd.to
	address := loopback(upstream)
	address.port in corefile.ports
}

# Case 2: /etc/resolv.conf, a kubelet configuration handing Pods the node's file, and Nodes
# whose file is systemd-resolved's stub.
findings contains {
	"object": {"kind": "ConfigMap", "namespace": "kube-system", "name": corefile.name},
	"message": sprintf(
		"server block %s forwards %s to /etc/resolv.conf while ConfigMap %s sets resolvConf: %s and %s (%s: %s), where that file names systemd-resolved's stub 127.0.0.53: a forwarding loop; %s",
		[block.zones, fwd.from, kubelet.name, kubelet.resolv_conf, nodes_phrase, first.name, first.os_image, consequence(block)],
	),
	"evidence": sprintf("Corefile: %s; %s: resolvConf: %s; Nodes: %s", [
		fwd.line, kubelet.name, kubelet.resolv_conf,
		concat(", ", [sprintf("%s (%s)", [n.name, n.os_image]) | some n in stub_nodes]),
	]),
} if {
	some corefile in corefiles
	some block in corefile.blocks
	not block.has_bind
	some fwd in block.forwards
	"/etc/resolv.conf" in fwd.to
	some kubelet in kubelet_configs
	count(stub_nodes) > 0
	first := stub_nodes[0]
}

consequence(block) := "the loop plugin will stop CoreDNS (CrashLoopBackOff)" if block.has_loop

consequence(block) := "with no loop plugin in the block, queries circle until CoreDNS runs out of memory" if {
	not block.has_loop
}

nodes_phrase := "1 Node runs a systemd-resolved distribution" if count(stub_nodes) == 1

nodes_phrase := sprintf("%d Nodes run systemd-resolved distributions", [count(stub_nodes)]) if {
	count(stub_nodes) > 1
}

# --- Corefiles -------------------------------------------------------------------------------

# Every ConfigMap of kube-system with a Corefile, its server blocks and the ports CoreDNS
# listens on (those of the blocks without `bind`, which listen on every address).
corefiles contains {"name": cm.metadata.name, "blocks": blocks, "ports": ports} if {
	some cm in object.get(input.kubernetes, "configmaps", [])
	object.get(cm.metadata, "namespace", "default") == "kube-system"
	cm_data := object.get(cm, "data", {})
	is_object(cm_data)
	text := object.get(cm_data, "Corefile", null)
	is_string(text)
	blocks := server_blocks(without_comments(text))
	ports := {port | some block in blocks; not block.has_bind; some port in block.ports}
}

without_comments(text) := regex.replace(text, `#[^\n]*`, "")

# Server blocks: "ZONES {" ... "}" at the top level. Plugins may open one level of braces
# of their own (`forward . /etc/resolv.conf { max_concurrent 1000 }`, `health { lameduck 5s }`),
# which is all a Corefile uses in practice.
server_blocks(text) := [server_block(trim_space(m[1]), m[2]) |
	some m in regex.find_all_string_submatch_n(`([^{}]+)\{((?:[^{}]|\{[^{}]*\})*)\}`, text, -1)
]

server_block(zones, body) := {
	"zones": zones,
	"ports": {zone_port(zone) | some zone in regex.split(`\s+`, zones); zone != ""},
	"has_bind": regex.match(`(?m)^[ \t]*bind([ \t]|$)`, body),
	"has_loop": regex.match(`(?m)^[ \t]*loop[ \t]*$`, body),
	"forwards": [forward_directive(m) |
		some m in regex.find_all_string_submatch_n(`(?m)^[ \t]*(forward|proxy)[ \t]+([^\s{]+)((?:[ \t]+[^\s{]+)*)`, body, -1)
	],
}

# `forward FROM TO...` (or the older `proxy`): the zone it forwards and its upstreams.
forward_directive(m) := {
	"line": trim_space(m[0]),
	"from": m[2],
	"to": [upstream | some upstream in regex.split(`\s+`, trim_space(m[3])); upstream != ""],
}

# ".:53" -> "53", "example.org" -> "53" (the default), "dns://.:1053" -> "1053".
zone_port(zone) := m[1] if {
	m := regex.find_all_string_submatch_n(`:([0-9]+)$`, zone, 1)[0]
}

zone_port(zone) := "53" if not regex.match(`:[0-9]+$`, zone)

# Loopback upstreams, as the forward plugin writes them: "127.0.0.53", "127.0.0.1:53",
# "dns://127.0.0.1", "::1", "[::1]:53". TLS and other transports are not plain DNS to CoreDNS's
# own port and are left out.
loopback(upstream) := {"address": m[1], "port": port_or_default(m[2])} if {
	m := regex.find_all_string_submatch_n(`^(?:dns://)?(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})(?::([0-9]+))?$`, upstream, 1)[0]
}

loopback(upstream) := {"address": "::1", "port": port_or_default(m[1])} if {
	m := regex.find_all_string_submatch_n(`^(?:dns://)?(?:::1|\[::1\](?::([0-9]+))?)$`, upstream, 1)[0]
}

port_or_default(port) := port if port != ""

port_or_default(port) := "53" if port == ""

# --- kubelet configuration (kubeadm) -----------------------------------------------------------

# kubeadm stores the cluster-wide KubeletConfiguration in kube-system/kubelet-config (before
# 1.24: kubelet-config-1.NN), key "kubelet". Only an explicit resolvConf that gives Pods the
# stub counts: without the field, kubeadm decides per Node.
kubelet_configs contains {"name": cm.metadata.name, "resolv_conf": path} if {
	some cm in object.get(input.kubernetes, "configmaps", [])
	object.get(cm.metadata, "namespace", "default") == "kube-system"
	regex.match(`^kubelet-config(-1\.[0-9]+)?$`, cm.metadata.name)
	cm_data := object.get(cm, "data", {})
	is_object(cm_data)
	text := object.get(cm_data, "kubelet", null)
	is_string(text)
	m := regex.find_all_string_submatch_n(`(?m)^resolvConf:[ \t]*["']?([^"'\s]+)`, text, 1)[0]
	path := m[1]
	path in stub_resolv_conf_paths
}

# On a systemd-resolved host /etc/resolv.conf is a link to stub-resolv.conf: nameserver 127.0.0.53.
stub_resolv_conf_paths := {"/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf"}

# --- Nodes ---------------------------------------------------------------------------------------

# Nodes whose OS uses systemd-resolved's stub by default, sorted by name.
stub_nodes := [{"name": pair[0], "os_image": pair[1]} | some pair in sort(stub_node_pairs)]

stub_node_pairs contains [node.metadata.name, os_image] if {
	some node in object.get(input.kubernetes, "nodes", [])
	os_image := node.status.nodeInfo.osImage
	is_string(os_image)
	systemd_resolved_os(os_image)
}

# Ubuntu has linked /etc/resolv.conf to the stub since 17.04; 18.04 LTS is the first release
# still met in clusters. "Ubuntu 22.04.4 LTS": year and month are two digits each, so the
# strings compare as the numbers would (and to_number, which refuses "04", is not needed).
systemd_resolved_os(os_image) if {
	m := regex.find_all_string_submatch_n(`^Ubuntu ([0-9]{2})\.([0-9]{2})`, os_image, 1)[0]
	concat("", [m[1], m[2]]) >= "1804"
}

# Fedora since 33 (Fedora CoreOS too): "Fedora Linux 39 (Cloud Edition)", "Fedora CoreOS 39.2024...".
# Source: https://fedoraproject.org/wiki/Changes/systemd-resolved
systemd_resolved_os(os_image) if {
	m := regex.find_all_string_submatch_n(`^Fedora (?:Linux |CoreOS )?([1-9][0-9]{1,2})([^0-9]|$)`, os_image, 1)[0]
	to_number(m[1]) >= 33
}
