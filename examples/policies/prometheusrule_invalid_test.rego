package detek.prometheusrule_invalid_test

import data.detek.prometheusrule_invalid as policy

prometheus_rule(name, groups) := {
	"apiVersion": "monitoring.coreos.com/v1",
	"kind": "PrometheusRule",
	"metadata": {"name": name, "namespace": "monitoring", "labels": {"prometheus": "k8s", "role": "alert-rules"}},
	"spec": {"groups": groups},
}

scan(objects) := {
	"cluster": {"name": null, "version": null, "identity": null, "live": true},
	"kubernetes": {"custom": {"monitoring.coreos.com": {"PrometheusRule": objects}}},
}

# The messages for one PrometheusRule made of `groups`.
messages(groups) := {f.message | some f in fired} if {
	fired := policy.findings with input as scan([prometheus_rule("rules", groups)])
}

# The messages for one group "web" holding the single rule `rule`.
rule_messages(rule) := messages([{"name": "web", "rules": [rule]}])

alert(extra) := object.union({"alert": "HighErrorRate", "expr": "rate(http_requests_total{code=~\"5..\"}[5m]) > 1"}, extra)

recording(extra) := object.union({"record": "job:http_requests:rate5m", "expr": "sum by (job) (rate(http_requests_total[5m]))"}, extra)

test_fires_on_a_duration_with_a_space if {
	policy.findings == {{
		"object": {"kind": "PrometheusRule", "namespace": "monitoring", "name": "web-rules"},
		"message": "group \"web\", rule 1 (HighErrorRate): for \"5 m\" is not a Prometheus duration (such as 30s, 5m or 1h30m)",
		"evidence": "spec.groups[0].rules[0].for: \"5 m\"",
	}} with input as scan([prometheus_rule("web-rules", [{"name": "web", "rules": [alert({"for": "5 m"})]}])])
}

test_valid_durations_pass if {
	every value in ["5m", "1h30m", "0", "0s", "90s", "500ms", "1y2w3d4h5m6s7ms", "", null] {
		count(rule_messages(alert({"for": value}))) == 0
	}
	count(rule_messages(alert({"keep_firing_for": "10m"}))) == 0
}

test_invalid_durations_fire if {
	every value in ["5 m", "1h30", "90sec", "1.5h", "5M", "m", "-5m", "1m1h", " 5m"] {
		rule_messages(alert({"for": value})) == {sprintf("group \"web\", rule 1 (HighErrorRate): for \"%s\" is not a Prometheus duration (such as 30s, 5m or 1h30m)", [value])}
	}
}

test_duration_that_is_not_a_string_fires if {
	rule_messages(alert({"for": 5})) == {"group \"web\", rule 1 (HighErrorRate): for 5 is not a Prometheus duration (such as 30s, 5m or 1h30m)"}
}

test_keep_firing_for_may_not_be_empty if {
	rule_messages(alert({"keep_firing_for": ""})) == {"group \"web\", rule 1 (HighErrorRate): keep_firing_for \"\" is not a Prometheus duration (such as 30s, 5m or 1h30m)"}
	rule_messages(alert({"keep_firing_for": "1h30"})) == {"group \"web\", rule 1 (HighErrorRate): keep_firing_for \"1h30\" is not a Prometheus duration (such as 30s, 5m or 1h30m)"}
}

test_alert_and_record if {
	rule_messages(alert({"record": "job:errors:rate5m"})) == {"group \"web\", rule 1 (HighErrorRate): sets both alert and record (job:errors:rate5m): a rule is either an alerting or a recording rule"}
	rule_messages({"expr": "up == 0"}) == {"group \"web\", rule 1 (unnamed): sets neither alert nor record"}
	rule_messages({"alert": "", "expr": "up == 0"}) == {"group \"web\", rule 1 (unnamed): sets neither alert nor record (alert is empty)"}
	rule_messages({"record": "", "expr": "up"}) == {"group \"web\", rule 1 (unnamed): sets neither alert nor record (record is empty)"}
}

test_expr if {
	rule_messages({"alert": "InstanceDown", "for": "5m"}) == {"group \"web\", rule 1 (InstanceDown): has no expr"}
	rule_messages({"alert": "InstanceDown", "expr": "  "}) == {"group \"web\", rule 1 (InstanceDown): has no expr"}
	count(rule_messages({"alert": "AlwaysFiring", "expr": 1})) == 0
}

test_record_names if {
	every name in ["job:http_requests:rate5m", "_private", ":colon_first", "instance_cpu"] {
		count(rule_messages(recording({"record": name}))) == 0
	}
	every name in ["http-requests:rate5m", "1st_metric", "rate(x[5m])", "up{job=\"a\"}", "naïve"] {
		rule_messages(recording({"record": name})) == {sprintf("group \"web\", rule 1 (%s): record \"%s\" is not a valid metric name (letters, digits, _ and :, not starting with a digit)", [name, name])}
	}
}

test_fields_only_alerting_rules_may_have if {
	rule_messages(recording({"for": "5m"})) == {"group \"web\", rule 1 (job:http_requests:rate5m): recording rule sets for: 5m, which only alerting rules may"}
	rule_messages(recording({"keep_firing_for": "1m"})) == {"group \"web\", rule 1 (job:http_requests:rate5m): recording rule sets keep_firing_for: 1m, which only alerting rules may"}
	count(rule_messages(recording({"for": "0s"}))) == 0
	rule_messages(recording({"annotations": {"summary": "rate"}})) == {"group \"web\", rule 1 (job:http_requests:rate5m): recording rule sets annotations, which only alerting rules may"}
	count(rule_messages(recording({"annotations": {}}))) == 0
}

test_label_and_annotation_names if {
	rule_messages(alert({"labels": {"severity": "critical", "team-name": "payments"}})) == {"group \"web\", rule 1 (HighErrorRate): label name \"team-name\" is not a valid label name"}
	rule_messages(alert({"labels": {"__name__": "x"}})) == {"group \"web\", rule 1 (HighErrorRate): label name \"__name__\" is not a valid label name"}
	rule_messages(alert({"annotations": {"runbook_url": "https://runbooks.example.com/x", "runbook url": "x"}})) == {"group \"web\", rule 1 (HighErrorRate): annotation name \"runbook url\" is not a valid label name"}
	count(rule_messages(alert({"annotations": {"__name__": "allowed for annotations"}}))) == 0
}

test_duplicate_group_names_are_reported_once if {
	groups := [
		{"name": "web", "rules": [alert({})]},
		{"name": "db", "rules": [alert({"alert": "DBDown"})]},
		{"name": "web", "rules": [recording({})]},
	]
	fired := policy.findings with input as scan([prometheus_rule("rules", groups)])
	{[f.message, f.evidence] | some f in fired} == {[
		"group name \"web\" is used by 2 groups: group names must be unique within a PrometheusRule",
		"spec.groups[0,2].name: \"web\"",
	]}
}

test_same_group_name_in_two_objects_passes if {
	one := prometheus_rule("one", [{"name": "web", "rules": [alert({})]}])
	two := prometheus_rule("two", [{"name": "web", "rules": [alert({})]}])
	count(policy.findings) == 0 with input as scan([one, two])
}

test_group_fields if {
	messages([{"rules": [alert({})]}]) == {"group #1: has no name"}
	messages([{"name": "web", "interval": "1 m", "rules": [alert({})]}]) == {"group \"web\": interval \"1 m\" is not a Prometheus duration (such as 30s, 5m or 1h30m)"}
	count(messages([{"name": "web", "interval": "30s", "query_offset": "1m", "rules": [alert({})]}])) == 0
	messages([{"name": "web", "labels": {"team-name": "x"}, "rules": [alert({})]}]) == {"group \"web\": label name \"team-name\" is not a valid label name"}
}

test_rules_of_an_unnamed_group_name_its_position if {
	messages([{"name": "ok", "rules": [alert({})]}, {"name": "", "rules": [alert({"for": "5 m"})]}]) == {
		"group #2: has no name",
		"group #2, rule 1 (HighErrorRate): for \"5 m\" is not a Prometheus duration (such as 30s, 5m or 1h30m)",
	}
}

test_valid_rules_pass if {
	groups := [
		{"name": "web", "interval": "1m", "rules": [
			alert({"for": "10m", "keep_firing_for": "5m", "labels": {"severity": "critical"}, "annotations": {"summary": "Too many errors", "runbook_url": "https://runbooks.example.com/high-error-rate"}}),
			recording({"labels": {"team": "web"}}),
		]},
		{"name": "empty", "rules": []},
		{"name": "no-rules"},
	]
	count(messages(groups)) == 0
}

test_objects_without_groups_pass if {
	count(policy.findings) == 0 with input as scan([
		{"kind": "PrometheusRule", "metadata": {"name": "a", "namespace": "monitoring"}, "spec": {}},
		{"kind": "PrometheusRule", "metadata": {"name": "b", "namespace": "monitoring"}},
		{"kind": "PrometheusRule", "metadata": {"name": "c", "namespace": "monitoring"}, "spec": {"groups": null}},
	])
}

test_no_custom_resources if {
	count(policy.findings) == 0 with input as {"kubernetes": {}}
}
