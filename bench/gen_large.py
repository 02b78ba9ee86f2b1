#!/usr/bin/env python3
"""Generate N Deployments + N Services over 50 namespaces (2N documents).

Copied from the project's shared benchmark data (shared/bench/gen_large.py) so that
bench/compare.sh and bench/ci-check.sh do not depend on ../shared; the documents are the same
byte for byte. Added here: writing one document per file into a directory.

    gen_large.py N OUT.yaml          # one multi-document YAML file
    gen_large.py N OUTDIR --split    # one document per file: OUTDIR/NNNNNNN.yaml
"""
import os
import sys


def documents(n):
    for i in range(n):
        yield f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: ns-{i % 50}
  labels:
    app: app-{i}
spec:
  replicas: {1 + i % 3}
  selector:
    matchLabels:
      app: app-{i}
  template:
    metadata:
      labels:
        app: app-{i}
    spec:
      containers:
      - name: main
        image: registry.example.com/app-{i}:{'latest' if i % 10 == 0 else '1.0.' + str(i)}
        ports:
        - containerPort: 8080
""" + ("""        resources:
          limits: {cpu: 500m, memory: 256Mi}
          requests: {cpu: 100m, memory: 128Mi}
""" if i % 2 else "")
        yield f"""apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  namespace: ns-{i % 50}
spec:
  selector:
    app: app-{i}
  ports:
  - port: 80
    targetPort: 8080
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    out = sys.argv[2] if len(sys.argv) > 2 else "large.yaml"
    if "--split" in sys.argv[3:]:
        os.makedirs(out, exist_ok=True)
        for k, doc in enumerate(documents(n)):
            with open(os.path.join(out, f"{k:07d}.yaml"), "w") as f:
                f.write(doc)
    else:
        with open(out, "w") as f:
            f.write("---\n".join(documents(n)))


if __name__ == "__main__":
    main()
