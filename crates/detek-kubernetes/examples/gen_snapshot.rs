//! Generates large synthetic snapshots for benchmarks.
//!
//! ```text
//! cargo run --release -p detek-kubernetes --example gen_snapshot -- manifests 2000 > a.yaml
//! cargo run --release -p detek-kubernetes --example gen_snapshot -- cluster 100000 > b.json
//! ```
//! `manifests N`: N Deployments and N Services in one multi-document YAML file (no status).
//! `cluster N`: a `kind: List` JSON dump of about N objects with status: 80% Pods, 1% Nodes,
//! the rest Services and Endpoints in equal parts. Some Pods are crash-looping, OOMKilled or
//! pending, some nodes NotReady, some Services without ready endpoints, so detectors do work.

use std::io::{BufWriter, Write};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("manifests");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match mode {
        "manifests" => manifests(&mut out, n),
        "cluster" => cluster(&mut out, n),
        other => {
            eprintln!("unknown mode {other}: use manifests N or cluster N");
            std::process::exit(2);
        }
    }
    .expect("write");
}

fn manifests(out: &mut impl Write, n: usize) -> std::io::Result<()> {
    for i in 0..n {
        let ns = format!("team-{}", i % 50);
        let image = if i % 7 == 0 {
            "nginx:latest".to_string()
        } else {
            format!("registry.example.com/app-{i}:1.{}.0", i % 10)
        };
        writeln!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n  labels:\n    app: app-{i}\nspec:\n  replicas: {}\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        ports:\n        - containerPort: 8080\n          name: http",
            1 + i % 3
        )?;
        if i % 3 != 0 {
            writeln!(
                out,
                "        resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n          limits:\n            memory: 256Mi\n        readinessProbe:\n          httpGet:\n            path: /healthz\n            port: http"
            )?;
        }
        if i % 11 == 0 {
            writeln!(
                out,
                "        volumeMounts:\n        - name: data\n          mountPath: /data\n      volumes:\n      - name: data\n        hostPath:\n          path: /var/lib/app-{i}"
            )?;
        }
        let target = if i % 13 == 0 { "9090" } else { "http" };
        let selector = if i % 17 == 0 {
            format!("app-{i}-typo")
        } else {
            format!("app-{i}")
        };
        writeln!(
            out,
            "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: {ns}\nspec:\n  selector:\n    app: {selector}\n  ports:\n  - name: http\n    port: 80\n    targetPort: {target}"
        )?;
    }
    Ok(())
}

fn cluster(out: &mut impl Write, n: usize) -> std::io::Result<()> {
    let nodes = (n / 100).max(1);
    let pods = n * 80 / 100;
    let services = (n - nodes - pods) / 2;
    write!(out, "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[")?;
    let mut first = true;
    let mut sep = |out: &mut dyn Write| -> std::io::Result<()> {
        if !std::mem::take(&mut first) {
            out.write_all(b",\n")?;
        }
        Ok(())
    };
    for i in 0..nodes {
        sep(out)?;
        let ready = if i % 50 == 7 { "False" } else { "True" };
        let mem = if i % 40 == 3 { "True" } else { "False" };
        write!(
            out,
            r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"node-{i}","labels":{{"kubernetes.io/hostname":"node-{i}"}}}},"spec":{{"podCIDR":"10.{}.{}.0/24"}},"status":{{"conditions":[{{"type":"Ready","status":"{ready}","reason":"KubeletReady","message":"kubelet is posting ready status","lastTransitionTime":"2026-01-01T00:00:00Z"}},{{"type":"MemoryPressure","status":"{mem}","reason":"KubeletHasSufficientMemory","lastTransitionTime":"2026-01-01T00:00:00Z"}}],"nodeInfo":{{"kubeletVersion":"v1.33.2","containerRuntimeVersion":"containerd://1.7.0","kernelVersion":"6.1.0","osImage":"Debian","operatingSystem":"linux","architecture":"amd64","machineID":"m","systemUUID":"u","bootID":"b","kubeProxyVersion":"v1.33.2"}}}}}}"#,
            i / 256,
            i % 256
        )?;
    }
    for i in 0..pods {
        sep(out)?;
        let ns = format!("team-{}", i % 100);
        let app = i % (services.max(1));
        let node = i % nodes;
        let (phase, state, restarts, last) = match i % 97 {
            1 => (
                "Running",
                r#"{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container"}}"#,
                42,
                r#","lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2026-01-13T18:00:00Z"}}"#,
            ),
            2 => (
                "Running",
                r#"{"running":{"startedAt":"2026-01-13T18:00:00Z"}}"#,
                3,
                r#","lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2026-01-13T17:00:00Z"}}"#,
            ),
            3 => (
                "Pending",
                r#"{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image"}}"#,
                0,
                "",
            ),
            _ => (
                "Running",
                r#"{"running":{"startedAt":"2026-01-13T18:00:00Z"}}"#,
                0,
                "",
            ),
        };
        write!(
            out,
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"app-{app}-{i}","namespace":"{ns}","labels":{{"app":"app-{app}"}},"ownerReferences":[{{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"app-{app}-5d9f","uid":"u-{app}","controller":true}}]}},"spec":{{"nodeName":"node-{node}","containers":[{{"name":"app","image":"registry.example.com/app-{app}:1.0.0","ports":[{{"containerPort":8080,"name":"http"}}],"resources":{{"requests":{{"cpu":"100m","memory":"128Mi"}},"limits":{{"memory":"256Mi"}}}}}}]}},"status":{{"phase":"{phase}","podIP":"10.{}.{}.{}","conditions":[{{"type":"Ready","status":"True"}}],"containerStatuses":[{{"name":"app","image":"registry.example.com/app-{app}:1.0.0","imageID":"","ready":true,"restartCount":{restarts},"state":{state}{last}}}]}}}}"#,
            node / 256,
            node % 256,
            (i / nodes) % 254 + 1
        )?;
    }
    for i in 0..services {
        sep(out)?;
        let ns = format!("team-{}", i % 100);
        write!(
            out,
            r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"app-{i}","namespace":"{ns}"}},"spec":{{"selector":{{"app":"app-{i}"}},"ports":[{{"name":"http","port":80,"targetPort":"http"}}],"type":"ClusterIP","clusterIP":"10.96.{}.{}"}}}}"#,
            i / 256 % 256,
            i % 256
        )?;
        sep(out)?;
        let (ready, not_ready) = match i % 31 {
            0 => ("", r#"{"ip":"10.0.0.9"}"#),
            1 => (r#"{"ip":"10.0.0.8"}"#, r#"{"ip":"10.0.0.9"}"#),
            _ => (r#"{"ip":"10.0.0.8"}"#, ""),
        };
        write!(
            out,
            r#"{{"apiVersion":"v1","kind":"Endpoints","metadata":{{"name":"app-{i}","namespace":"{ns}"}},"subsets":[{{"addresses":[{ready}],"notReadyAddresses":[{not_ready}],"ports":[{{"name":"http","port":8080}}]}}]}}"#
        )?;
    }
    writeln!(out, "]}}")
}
