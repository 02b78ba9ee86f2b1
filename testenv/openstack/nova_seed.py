"""Creates the Nova part of the dataset in the real nova-api's sqlite databases through Nova's
own object layer (objects.Instance / InstanceFault / InstanceMapping / Service / ComputeNode /
Flavor), the same rows Nova's conductor and compute services would write. The same servers,
faults, services and hypervisors as replay.py's dataset (README.md, "The dataset").

Timestamps: the object layer stamps created_at/updated_at with "now"; the dataset's past times
(a stuck task since 2017, services that last reported in 2012) are then set with one SQL
UPDATE per row, the only writes that bypass the object layer.

    /usr/bin/python3 nova_seed.py DIR REACHABLE_ADDR UNREACHABLE_ADDR
"""
import json
import os
import sqlite3
import sys
import warnings

warnings.filterwarnings("ignore")
DIR, REACHABLE, UNREACHABLE = sys.argv[1:4]
cloud = json.load(open(os.path.join(DIR, "cloud.json")))
DEMO, OPS = cloud["demo_project_id"], cloud["ops_project_id"]

from nova import config, context, objects  # noqa: E402
from nova.network import model as nm  # noqa: E402

config.parse_args(["nova-seed", "--config-file", os.path.join(DIR, "nova", "nova.conf")])
objects.register_all()
ctx = context.get_admin_context()
cell1 = [c for c in objects.CellMappingList.get_all(ctx) if c.name == "cell1"][0]

FAULT = ("The server has either erred or is incapable of performing the requested operation. "
         "(HTTP 500) (Request-ID: req-5ec1e01c-bc04-43e7-957d-c810d4357908)")
# uuid, name, project, vm_state, task_state, power_state, host, address, created, updated
SERVERS = [
    ("2d05bd68-3fbb-4b47-9f38-c690a5d93e45", "test_vm", DEMO, "error", None, 0, None,
     "127.0.42.11", "2013-12-02 18:40:36", "2013-12-05 21:07:07"),
    ("f5dc173b-6804-445a-a6d8-c705dad5b5eb", "web-reachable", DEMO, "active", None, 1, "host1",
     REACHABLE, "2013-09-03 04:01:32", "2013-09-03 04:01:32"),
    ("2ce4c5b3-2866-4972-93ce-77a2ea46a7f9", "web-unreachable", DEMO, "active", None, 1, "host1",
     UNREACHABLE, "2019-04-23 15:19:14", "2019-04-23 15:19:15"),
    ("9a7d3c2e-5b1f-4e6a-8c0d-1f2e3a4b5c6d", "resize-stuck", DEMO, "active", "resize_migrating",
     1, "host1", "127.0.42.14", "2017-02-14 19:30:05", "2017-02-14 20:01:17"),
    ("c3e1b7a4-2f6d-4a9b-b8e5-7d0c1a2b3e4f", "stopped-ops", OPS, "stopped", None, 4, "host2",
     "127.0.42.15", "2017-02-14 19:40:10", "2017-02-15 08:12:40"),
]
# openstack-exporter's nova_os_services.json, with nova-compute@host2 enabled (it died).
# host, binary, disabled_reason (None = enabled), last report (None = now: up)
SERVICES = [("host1", "nova-scheduler", "test1", None),
            ("host1", "nova-compute", "test2", None),
            ("host2", "nova-scheduler", None, "2012-09-19 06:55:34"),
            ("host2", "nova-compute", None, "2012-09-18 08:03:38")]

flavor = objects.Flavor(ctx, name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0,
                        flavorid="1", swap=0, rxtx_factor=1.0, vcpu_weight=0, disabled=False,
                        is_public=True, extra_specs={}, description=None)
flavor.create()


def network_info(addr):
    return nm.NetworkInfo([nm.VIF(
        id="6a9c1b4e-0d2f-4e8a-9b7c-1d2e3f4a5b6c", address="fa:16:3e:00:00:01",
        network=nm.Network(id="net-private", label="private", subnets=[
            nm.Subnet(cidr="127.0.0.0/8", ips=[nm.FixedIP(address=addr)])]))])


sql = []
with context.target_cell(ctx, cell1) as cctx:
    services = {}
    for host, binary, reason, last in SERVICES:
        s = objects.Service(cctx, host=host, binary=binary, topic=binary[len("nova-"):],
                            report_count=1, disabled=reason is not None,
                            disabled_reason=reason)
        s.create()
        services[(host, binary)] = s
        if last:
            sql.append(("cell1", "UPDATE services SET updated_at=?, created_at=? WHERE id=?",
                        (last, last, s.id)))
    # Hypervisor ids 2 and 3 as in replay.py (the sample's host1 is id 2): id 1 is used and
    # soft-deleted first.
    running = {"host1": 3, "host2": 1}
    for host in ["placeholder", "host1", "host2"]:
        svc = services.get((host, "nova-compute")) or services[("host1", "nova-compute")]
        cn = objects.ComputeNode(cctx, host=host, hypervisor_hostname=host, service_id=svc.id,
                                 vcpus=2, memory_mb=8192, local_gb=1028, vcpus_used=0,
                                 memory_mb_used=512, local_gb_used=0, hypervisor_type="fake",
                                 hypervisor_version=1000, cpu_info="{}", free_ram_mb=7680,
                                 free_disk_gb=1028, current_workload=0,
                                 running_vms=running.get(host, 0), disk_available_least=0,
                                 host_ip="127.0.42.41" if host == "host1" else "127.0.42.42",
                                 supported_hv_specs=[], pci_device_pools=None, stats={},
                                 cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5,
                                 disk_allocation_ratio=1.0)
        cn.create()
        if host == "placeholder":
            cn.destroy()
        else:  # what `nova-manage cell_v2 discover_hosts` records
            objects.HostMapping(ctx, host=host, cell_mapping=cell1).create()

    for uuid, name, project, vm_state, task_state, power, host, addr, created, updated in SERVERS:
        inst = objects.Instance(
            cctx, uuid=uuid, project_id=project, user_id="a75c583fa46148eaa020d3e88ab53802",
            display_name=name, hostname=name, vm_state=vm_state, task_state=task_state,
            power_state=power, host=host, node=host, availability_zone="nova", image_ref="",
            flavor=flavor, old_flavor=None, new_flavor=None, instance_type_id=flavor.id,
            memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0, system_metadata={}, metadata={},
            launch_index=0, reservation_id="r-detek", key_name=None, locked=False,
            config_drive="", info_cache=objects.InstanceInfoCache(
                network_info=network_info(addr)))
        inst.create()
        if vm_state == "error":
            objects.InstanceFault(cctx, instance_uuid=uuid, code=500, message=FAULT, details="",
                                  host="apihost").create()
            sql.append(("cell1", "UPDATE instance_faults SET created_at=? WHERE instance_uuid=?",
                        ("2013-12-05 21:07:07", uuid)))
        sql.append(("cell1", "UPDATE instances SET created_at=?, updated_at=?, launched_at=? "
                    "WHERE uuid=?", (created, updated, created if host else None, uuid)))
        objects.InstanceMapping(ctx, instance_uuid=uuid, cell_mapping=cell1,
                                project_id=project).create()

# SQLAlchemy stores DateTime in sqlite as "YYYY-MM-DD HH:MM:SS.ffffff" and compares them as
# strings: without the microseconds Nova's marker paging never moved past a row (a
# servers/detail took 60 s re-reading the same rows up to `limit`).
for db, stmt, args in sql:
    args = tuple(a + ".000000" if isinstance(a, str) and a[:2] in ("19", "20") and len(a) == 19
                 else a for a in args)
    with sqlite3.connect(os.path.join(DIR, "nova", f"nova_{db}.db")) as c:
        c.execute(stmt, args)
print("nova dataset created:", len(SERVERS), "servers,", len(SERVICES), "services")
