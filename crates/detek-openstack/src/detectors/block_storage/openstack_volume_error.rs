use crate::prelude::*;

/// ## What it detects
/// Cinder volumes in an error status: `error` (creation failed), `error_deleting`,
/// `error_restoring`, `error_extending`, `error_backing-up`, `error_managing` — any status
/// starting with `error`. With admin credentials every project's volumes are judged.
///
/// ## Why it matters
/// A volume in `error` never became usable: the server waiting for it has no disk, and a
/// boot-from-volume server never starts. One in `error_deleting` still holds its space on the
/// backend and the project's quota, and cannot be deleted again without help. Cinder does not
/// retry any of these by itself.
///
/// ## How to fix
/// `openstack volume show ID` (status, host, `os-vol-host-attr:host`) and the
/// `cinder-volume` log of that backend for the request. Fix the backend (capacity,
/// connectivity, driver), then: for `error`, delete the volume and create it again; for
/// `error_deleting`, an admin resets it (`openstack volume set --state available ID`) and
/// deletes it again; for `error_extending`, reset to `in-use`/`available` after checking the
/// size on the backend.
///
/// ## Example
/// ```json
/// {"id": "173f7b48-c4c1-4e70-9acc-086b39073506", "name": "test-volume",
///  "status": "error_deleting", "size": 1}
/// ```
#[detector(
    id = "openstack_volume_error",
    title = "Cinder volumes in an error status",
    labels = ["openstack", "block-storage", "volume"],
    level = Error,
    requires = [VOLUMES],
    references = [
        "https://docs.openstack.org/api-ref/block-storage/v3/#volumes-volumes",
        "https://docs.openstack.org/cinder/latest/admin/ts-cinder-config.html",
    ],
)]
pub struct OpenstackVolumeError;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let volumes = ctx.get(&VOLUMES)?;
    let mut out = Outcome::new().evaluated(volumes.len());
    for volume in volumes.iter().filter(|v| v.status.starts_with("error")) {
        let name = if volume.name.is_empty() {
            &volume.id
        } else {
            &volume.name
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(ObjectRef::new(
                "Volume",
                volume.tenant_id.as_deref(),
                name.as_str(),
            )),
            format!("volume {} is in status {}", volume.id, volume.status),
        )
        .with_discriminator(volume.id.as_str());
        if let Some(size) = volume.size {
            finding = finding.with_evidence(format!("size {size} GiB"));
        }
        if let Some(host) = &volume.host {
            finding = finding.with_evidence(format!("backend host {host}"));
        }
        for attachment in &volume.attachments {
            finding = finding.with_evidence(format!(
                "attached to server {}{}",
                attachment.server_id,
                attachment
                    .device
                    .as_deref()
                    .map(|d| format!(" at {d}"))
                    .unwrap_or_default()
            ));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_volume_and_its_error_status() {
        let list = scan_fixture(
            "openstack_volume_error/fail.json",
            &["openstack_volume_error"],
        );
        let report = &list.reports[0];
        assert_eq!(
            finding_lines(report),
            [
                "Volume/bab7d5c60cd041a0a36f7c4b6e1dd978/test-volume-attachments: volume \
                 6edbc2f4-1507-44f8-ac0d-eed1d2608d38 is in status error_extending",
                "Volume/bab7d5c60cd041a0a36f7c4b6e1dd978/test-volume: volume \
                 173f7b48-c4c1-4e70-9acc-086b39073506 is in status error_deleting",
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            [
                "size 2 GiB",
                "backend host difleming@lvmdriver-1#lvmdriver-1",
                "attached to server f4fda93b-06e0-4743-8117-bc8bcecd651b at /dev/vdb",
            ]
        );
    }

    #[test]
    fn available_and_in_use_volumes_pass() {
        let list = scan_fixture(
            "openstack_volume_error/pass.json",
            &["openstack_volume_error"],
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);
        assert_eq!(list.reports[0].evaluated, Some(2));
    }

    #[test]
    fn a_cloud_without_block_storage_skips_it_with_the_reason() {
        let list = scan_fixture(
            "openstack_volume_error/no-cinder.json",
            &["openstack_volume_error", "openstack_failed_server"],
        );
        assert_eq!(
            list.skipped["openstack_volume_error"],
            "the catalog of cloud test (project demo, region RegionOne) has no block-storage \
             service"
        );
        assert_eq!(list.reports.len(), 1);
        assert_eq!(list.reports[0].id, "openstack_failed_server");
        assert_eq!(list.status, detek_core::ScanStatus::Complete);
    }
}
