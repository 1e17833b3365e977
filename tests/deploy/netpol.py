"""Kubernetes NetworkPolicy semantics, enough to say who may connect to whom in a rendered overlay.

A connection from pod A to pod B on a port is allowed when A's egress allows it and B's
ingress allows it. A side is open when no policy of the pod's namespace selects the pod for
that direction; otherwise some rule of a policy that selects it must match the peer and the
port (networking.k8s.io/v1: the union of the rules; a named port is the destination pod's).
Endpoints outside the cluster are addresses: only the pod's egress governs them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Port = tuple[int, str]  # (number, protocol)
Connection = tuple[str, str, int, str]  # (source, destination, port, protocol)


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels) or, with `ip`, an address outside the cluster."""

    name: str
    namespace: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str | None, int, str], ...] = ()  # (name, number, protocol)
    ip: str | None = None

    def port_numbers(self) -> set[Port]:
        return {(number, protocol) for _, number, protocol in self.ports}


def pod(
    name: str, namespace: str, labels: Mapping[str, str], *ports: tuple[str | None, int, str]
) -> Endpoint:
    return Endpoint(name, namespace, dict(labels), tuple(ports))


def address(name: str, ip: str, *ports: Port) -> Endpoint:
    return Endpoint(name, None, {}, tuple((None, number, protocol) for number, protocol in ports), ip)


def workload_endpoint(workload: dict[str, Any]) -> Endpoint:
    """The pods of a Deployment, StatefulSet or Job, named after it."""
    template = workload["spec"]["template"]
    ports = tuple(
        (p.get("name"), p["containerPort"], p.get("protocol", "TCP"))
        for c in template["spec"]["containers"]
        for p in c.get("ports", [])
    )
    return Endpoint(
        workload["metadata"]["name"], workload["metadata"]["namespace"], template["metadata"]["labels"], ports
    )


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions); an empty one selects everything."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def policy_types(policy: dict[str, Any]) -> set[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return set(spec["policyTypes"])
    return {"Ingress"} | ({"Egress"} if "egress" in spec else set())


def peer_matches(peer: Mapping[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.ip is None:
            return False  # pod addresses are not modelled: our rules name pods by labels
        ip = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(cidr) for cidr in block.get("except", [])
        )
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def port_matches(rule_ports: Iterable[Mapping[str, Any]] | None, destination: Endpoint, port: Port) -> bool:
    rule_ports = list(rule_ports or [])
    if not rule_ports:
        return True
    number, protocol = port
    for rule_port in rule_ports:
        if rule_port.get("protocol", "TCP") != protocol:
            continue
        if "port" not in rule_port:
            return True
        wanted = rule_port["port"]
        if isinstance(wanted, int):
            if wanted == number or wanted <= number <= rule_port.get("endPort", wanted):
                return True
        elif (wanted, number, protocol) in destination.ports:
            return True
    return False


class Policies:
    def __init__(self, policies: Iterable[dict[str, Any]]) -> None:
        self.policies = list(policies)

    def _selecting(self, endpoint: Endpoint, direction: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == endpoint.namespace
            and direction in policy_types(p)
            and selects(p["spec"]["podSelector"], endpoint.labels)
        ]

    def egress_allows(self, source: Endpoint, destination: Endpoint, port: Port) -> bool:
        if source.namespace is None:
            return True
        policies = self._selecting(source, "Egress")
        if not policies:
            return True
        return any(
            (
                not rule.get("to")
                or any(peer_matches(peer, source.namespace, destination) for peer in rule["to"])
            )
            and port_matches(rule.get("ports"), destination, port)
            for policy in policies
            for rule in policy["spec"].get("egress") or []
        )

    def ingress_allows(self, source: Endpoint, destination: Endpoint, port: Port) -> bool:
        if destination.namespace is None:
            return True
        policies = self._selecting(destination, "Ingress")
        if not policies:
            return True
        return any(
            (
                not rule.get("from")
                or any(peer_matches(peer, destination.namespace, source) for peer in rule["from"])
            )
            and port_matches(rule.get("ports"), destination, port)
            for policy in policies
            for rule in policy["spec"].get("ingress") or []
        )

    def connections(self, endpoints: Iterable[Endpoint]) -> dict[str, set[Connection]]:
        """Every (source, destination, port, protocol) each side allows, and both together."""
        endpoints = list(endpoints)
        sides: dict[str, set[Connection]] = {"egress": set(), "ingress": set(), "both": set()}
        for source in endpoints:
            for destination in endpoints:
                for number, protocol in sorted(destination.port_numbers()):
                    connection = (source.name, destination.name, number, protocol)
                    egress = self.egress_allows(source, destination, (number, protocol))
                    ingress = self.ingress_allows(source, destination, (number, protocol))
                    if egress:
                        sides["egress"].add(connection)
                    if ingress:
                        sides["ingress"].add(connection)
                    if egress and ingress:
                        sides["both"].add(connection)
        return sides
