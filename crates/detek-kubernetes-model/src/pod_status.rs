//! A Pod's status as the model holds it: k8s-openapi's fields, minus the few no check reads,
//! laid out for a cluster's worth of Pods.
//!
//! k8s-openapi keeps every optional field inline: its `PodStatus` is 616 bytes and each
//! `ContainerStatus` 752, of which 416 are two `ContainerState`s that each reserve room for a
//! terminated state (136 bytes) most never have, and 200 are resources, user and mounts the
//! kubelet reports but no check reads. Every Pod carries its status for the whole scan, so these
//! types keep the same field names, JSON names and types for what is read (code written against
//! k8s-openapi reads them unchanged) and leave out the rest: `allocatedResources`,
//! `allocatedResourcesStatus`, `resources`, `user`, `volumeMounts` and `stopSignal` of a
//! container, `extendedResourceClaimStatus`, `resize` and `resourceClaimStatuses` of a Pod.
//! A terminated state is boxed. On 64-bit targets: 352 bytes of status and 264 per container
//! instead of 616 and 752.

use k8s_openapi::api::core::v1::{
    ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, HostIP, PodCondition,
    PodIP,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

/// `PodStatus` (`v1`), the fields checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<PodCondition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(rename = "hostIPs", skip_serializing_if = "Option::is_none")]
    pub host_ips: Option<Vec<HostIP>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_container_statuses: Option<Vec<ContainerStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nominated_node_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(rename = "podIPs", skip_serializing_if = "Option::is_none")]
    pub pod_ips: Option<Vec<PodIP>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
}

/// `ContainerStatus` (`v1`), the fields checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStatus {
    #[serde(rename = "containerID", skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    pub image: String,
    #[serde(rename = "imageID")]
    pub image_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_state: Option<ContainerState>,
    pub name: String,
    pub ready: bool,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ContainerState>,
}

/// `ContainerState` (`v1`): at most one of the three is set; a terminated state is boxed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<ContainerStateRunning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Box<ContainerStateTerminated>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<ContainerStateWaiting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_api_servers_json() {
        let json = serde_json::json!({
            "phase": "Running", "hostIP": "10.0.0.4", "podIP": "10.1.2.3",
            "podIPs": [{"ip": "10.1.2.3"}], "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{
                "name": "app", "image": "nginx:1.27", "imageID": "sha256:abc",
                "containerID": "containerd://1", "ready": true, "restartCount": 3, "started": true,
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
            }]
        });
        let status: PodStatus = serde_json::from_value(json.clone()).unwrap();
        let app = &status.container_statuses.as_ref().unwrap()[0];
        assert_eq!(app.restart_count, 3);
        let last = app
            .last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap();
        assert_eq!(
            (last.exit_code, last.reason.as_deref()),
            (137, Some("OOMKilled"))
        );
        assert_eq!(status.pod_ips.as_ref().unwrap()[0].ip, "10.1.2.3");
        assert_eq!(serde_json::to_value(&status).unwrap(), json);
        // What no check reads is left out, and `null` reads as absent.
        let lean: PodStatus = serde_json::from_value(serde_json::json!({
            "resize": "InProgress", "message": null,
            "containerStatuses": [{"name": "a", "image": "i", "imageID": "", "ready": false,
              "restartCount": 0, "resources": {"limits": {"cpu": "1"}}, "volumeMounts": []}]
        }))
        .unwrap();
        assert_eq!(lean.message, None);
        assert_eq!(
            serde_json::to_value(&lean).unwrap(),
            serde_json::json!({"containerStatuses": [{"name": "a", "image": "i", "imageID": "",
              "ready": false, "restartCount": 0}]})
        );
    }

    #[test]
    fn is_smaller_than_k8s_openapis() {
        use std::mem::size_of;
        assert!(
            size_of::<PodStatus>() * 5 < size_of::<k8s_openapi::api::core::v1::PodStatus>() * 3
        );
        assert!(
            size_of::<ContainerStatus>()
                < size_of::<k8s_openapi::api::core::v1::ContainerStatus>() / 2
        );
    }
}
