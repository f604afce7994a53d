"""Filters of the postgresql_replication role. The decisions live in
plugins/module_utils (one place, table-tested); this maps them to filter names."""

from __future__ import annotations

from typing import Any

from ansible_collections.dockyard.platform.plugins.module_utils import (
    addresses,
    distributions,
    ha_plans,
    postgresql_config,
    postgresql_rules,
    replica_plans,
    tls_certificates,
)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "postgresql_is_ip": addresses.is_ip,
            "postgresql_host_cidr": addresses.host_cidr,
            "postgresql_bad_networks": addresses.bad_networks,
            "postgresql_slot_name": postgresql_config.slot_name,
            "postgresql_wal_senders": postgresql_config.wal_senders,
            "postgresql_quorum": postgresql_config.quorum,
            "postgresql_problems": postgresql_rules.problems,
            "postgresql_conf_value": postgresql_config.conf_value,
            "postgresql_conninfo": postgresql_config.conninfo,
            "postgresql_pgpass_field": postgresql_config.pgpass_field,
            "postgresql_peer_addresses": addresses.peer_addresses,
            "postgresql_clone_decision": replica_plans.clone_decision,
            "postgresql_failover_plan": ha_plans.failover_plan_of,
            "postgresql_switchover_plan": ha_plans.switchover_plan_of,
            "postgresql_rejoin_plan": ha_plans.rejoin_plan_of,
            "postgresql_promotion_ready_sql": ha_plans.promotion_ready_sql,
            "postgresql_may_start_alone": replica_plans.may_start_alone,
            "postgresql_tls_ca_current": tls_certificates.ca_current,
            "postgresql_tls_host_current": tls_certificates.host_current,
            "postgresql_distribution_major": distributions.postgresql_distribution_major,
            "postgresql_paths": distributions.postgresql_paths,
            "postgresql_pgdg_suite": distributions.pgdg_suite,
            "postgresql_mixed_majors": postgresql_rules.mixed_majors_of,
        }
