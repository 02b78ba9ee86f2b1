package detek.coredns_forward_loop_test

import data.detek.coredns_forward_loop as policy

# kubeadm's default Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go).
kubeadm_corefile := `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

configmap(namespace, name, data) := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": name, "namespace": namespace},
	"data": data,
}

coredns(corefile) := configmap("kube-system", "coredns", {"Corefile": corefile})

kubelet_config(name, resolv_conf) := configmap("kube-system", name, {"kubelet": concat("", [
	"apiVersion: kubelet.config.k8s.io/v1beta1\n",
	"kind: KubeletConfiguration\n",
	"clusterDomain: cluster.local\n",
	"resolvConf: ", resolv_conf, "\n",
])})

node(name, os_image) := {
	"apiVersion": "v1",
	"kind": "Node",
	"metadata": {"name": name},
	"status": {"nodeInfo": {"osImage": os_image, "operatingSystem": "linux"}},
}

scan(configmaps, nodes) := {
	"cluster": {"name": null, "version": "1.30.1", "identity": null, "live": true},
	"kubernetes": {"configmaps": configmaps, "nodes": nodes},
}

one_block(body) := concat("", [".:53 {\n", body, "\n}\n"])

# --- case 1: loopback upstreams --------------------------------------------------------------

test_loopback_upstream_fires if {
	policy.findings == {{
		"object": {"kind": "ConfigMap", "namespace": "kube-system", "name": "coredns"},
		"message": "server block .:53 forwards . to 127.0.0.1, a loopback address that inside the CoreDNS Pod is CoreDNS itself: a forwarding loop; the loop plugin will stop CoreDNS (CrashLoopBackOff)",
		"evidence": "Corefile: forward . 127.0.0.1",
	}} with input as scan([coredns(one_block("    errors\n    forward . 127.0.0.1\n    loop"))], [])
}

test_loopback_upstream_without_loop_plugin_names_the_consequence if {
	corefile := concat("", [kubeadm_corefile, "corp.example.com:53 {\n    errors\n    forward . 127.0.0.53\n}\n"])
	policy.findings == {{
		"object": {"kind": "ConfigMap", "namespace": "kube-system", "name": "coredns"},
		"message": "server block corp.example.com:53 forwards . to 127.0.0.53, a loopback address that inside the CoreDNS Pod is CoreDNS itself: a forwarding loop; with no loop plugin in the block, queries circle until CoreDNS runs out of memory",
		"evidence": "Corefile: forward . 127.0.0.53",
	}} with input as scan([coredns(corefile)], [])
}

loopback_fires(upstream) if {
	corefile := one_block(concat("", ["    forward . ", upstream, "\n    loop"]))
	fired := policy.findings with input as scan([coredns(corefile)], [])
	count(fired) == 1
}

test_loopback_forms if {
	every upstream in ["127.0.0.53", "127.0.0.1:53", "dns://127.0.0.1", "dns://127.0.0.1:53", "::1", "[::1]:53", "127.1.2.3"] {
		loopback_fires(upstream)
	}
}

test_other_upstreams_pass if {
	every upstream in ["192.0.2.53", "10.96.0.10:53", "127.0.0.1:5353", "[::1]:5353", "tls://127.0.0.1", "/etc/resolv.conf"] {
		not loopback_fires(upstream)
	}
}

test_one_of_several_upstreams_is_loopback if {
	loopback_fires("192.0.2.53 127.0.0.53")
}

test_port_of_the_server_block_counts if {
	# CoreDNS listens on 1053: 127.0.0.1 (port 53) is not itself, 127.0.0.1:1053 is.
	not_itself := concat("", [".:1053 {\n    forward . 127.0.0.1\n}\n"])
	itself := concat("", [".:1053 {\n    forward . 127.0.0.1:1053\n}\n"])
	count(policy.findings) == 0 with input as scan([coredns(not_itself)], [])
	count(policy.findings) == 1 with input as scan([coredns(itself)], [])
}

test_old_proxy_plugin_fires if {
	fired := policy.findings with input as scan([coredns(one_block("    proxy . 127.0.0.1\n    loop"))], [])
	{f.evidence | some f in fired} == {"Corefile: proxy . 127.0.0.1"}
}

test_forward_with_options_block if {
	corefile := one_block("    forward . 127.0.0.53 {\n       max_concurrent 1000\n    }\n    cache 30 {\n       disable success cluster.local\n    }")
	fired := policy.findings with input as scan([coredns(corefile)], [])
	{f.evidence | some f in fired} == {"Corefile: forward . 127.0.0.53"}
}

test_commented_out_forward_passes if {
	corefile := one_block("    # forward . 127.0.0.53\n    forward . 192.0.2.53\n    loop")
	count(policy.findings) == 0 with input as scan([coredns(corefile)], [])
}

test_bind_blocks_are_not_judged if {
	# NodeLocal DNSCache: host network, listens on its link-local address only.
	corefile := one_block("    bind 169.254.20.10 10.96.0.10\n    forward . 127.0.0.53")
	count(policy.findings) == 0 with input as scan([coredns(corefile)], [])
}

test_corefiles_outside_kube_system_are_not_judged if {
	cm := configmap("dns-lab", "coredns", {"Corefile": one_block("    forward . 127.0.0.1")})
	count(policy.findings) == 0 with input as scan([cm], [])
}

test_any_kube_system_configmap_with_a_corefile if {
	cm := configmap("kube-system", "rke2-coredns-rke2-coredns", {"Corefile": one_block("    forward . 127.0.0.1")})
	fired := policy.findings with input as scan([cm], [])
	{f.object.name | some f in fired} == {"rke2-coredns-rke2-coredns"}
}

test_configmaps_without_data_are_skipped if {
	empty := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"}}
	null_data := {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns-custom", "namespace": "kube-system"}, "data": null}
	count(policy.findings) == 0 with input as scan([empty, null_data], [node("worker-1", "Ubuntu 22.04.4 LTS")])
}

# --- case 2: systemd-resolved stub through /etc/resolv.conf ------------------------------------

test_stub_resolv_conf_on_ubuntu_fires if {
	policy.findings == {{
		"object": {"kind": "ConfigMap", "namespace": "kube-system", "name": "coredns"},
		"message": "server block .:53 forwards . to /etc/resolv.conf while ConfigMap kubelet-config sets resolvConf: /etc/resolv.conf and 1 Node runs a systemd-resolved distribution (worker-1: Ubuntu 22.04.4 LTS), where that file names systemd-resolved's stub 127.0.0.53: a forwarding loop; the loop plugin will stop CoreDNS (CrashLoopBackOff)",
		"evidence": "Corefile: forward . /etc/resolv.conf; kubelet-config: resolvConf: /etc/resolv.conf; Nodes: worker-1 (Ubuntu 22.04.4 LTS)",
	}} with input as scan(
		[coredns(kubeadm_corefile), kubelet_config("kubelet-config", "/etc/resolv.conf")],
		[node("worker-1", "Ubuntu 22.04.4 LTS"), node("worker-2", "Debian GNU/Linux 12 (bookworm)")],
	)
}

test_nodes_are_counted_and_the_first_by_name_is_named if {
	fired := policy.findings with input as scan(
		[coredns(kubeadm_corefile), kubelet_config("kubelet-config", "/run/systemd/resolve/stub-resolv.conf")],
		[node("worker-b", "Ubuntu 24.04 LTS"), node("worker-a", "Fedora Linux 39 (Cloud Edition)"), node("worker-c", "Flatcar Container Linux by Kinvolk 3815.2.2 (Oklo)")],
	)
	some f in fired
	count(fired) == 1
	contains(f.message, "sets resolvConf: /run/systemd/resolve/stub-resolv.conf and 2 Nodes run systemd-resolved distributions (worker-a: Fedora Linux 39 (Cloud Edition))")
	endswith(f.evidence, "Nodes: worker-a (Fedora Linux 39 (Cloud Edition)), worker-b (Ubuntu 24.04 LTS)")
}

test_kubeadm_default_with_the_real_resolv_conf_passes if {
	count(policy.findings) == 0 with input as scan(
		[coredns(kubeadm_corefile), kubelet_config("kubelet-config", "/run/systemd/resolve/resolv.conf")],
		[node("worker-1", "Ubuntu 22.04.4 LTS")],
	)
}

test_without_kubelet_config_passes if {
	# Managed clusters (AKS on Ubuntu...) set the kubelet's resolv.conf per Node: unknown here.
	count(policy.findings) == 0 with input as scan([coredns(kubeadm_corefile)], [node("aks-nodepool1-0", "Ubuntu 22.04.4 LTS")])
}

test_kubelet_config_without_resolv_conf_passes if {
	cm := configmap("kube-system", "kubelet-config", {"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"})
	count(policy.findings) == 0 with input as scan([coredns(kubeadm_corefile), cm], [node("worker-1", "Ubuntu 22.04.4 LTS")])
}

test_legacy_versioned_kubelet_config_name if {
	fired := policy.findings with input as scan(
		[coredns(kubeadm_corefile), kubelet_config("kubelet-config-1.23", "/etc/resolv.conf")],
		[node("worker-1", "Ubuntu 20.04.6 LTS")],
	)
	count(fired) == 1
}

stub_fires_with_os(os_image) if {
	fired := policy.findings with input as scan(
		[coredns(kubeadm_corefile), kubelet_config("kubelet-config", "/etc/resolv.conf")],
		[node("worker-1", os_image)],
	)
	count(fired) == 1
}

test_systemd_resolved_distributions if {
	every os_image in [
		"Ubuntu 18.04.6 LTS", "Ubuntu 20.04.6 LTS", "Ubuntu 24.04 LTS",
		"Fedora 33 (Server Edition)", "Fedora Linux 39 (Cloud Edition)", "Fedora CoreOS 39.20240210.3.0",
	] {
		stub_fires_with_os(os_image)
	}
}

test_other_distributions_pass if {
	every os_image in [
		"Ubuntu 16.04.7 LTS", "Fedora 32 (Cloud Edition)", "Debian GNU/Linux 12 (bookworm)",
		"Amazon Linux 2023.4.20240513", "Container-Optimized OS from Google",
		"Flatcar Container Linux by Kinvolk 3815.2.2 (Oklo)", "Windows Server 2022 Datacenter",
	] {
		not stub_fires_with_os(os_image)
	}
}

test_nothing_to_scan if {
	count(policy.findings) == 0 with input as scan([], [])
}
