import Yams

extension ServiceFields {
    /// A service's scheduling on a swarm in Compose's `deploy:` words (`mode`, `replicas`,
    /// `placement`, `endpoint_mode`). A manifest's `swarm.deploy.SERVICE` and a Compose service's
    /// `deploy:` on a swarm both read it here, so a constraint is checked alike in both: when the
    /// files are read, not when the swarm refuses the service halfway through a rollout.
    func swarmScheduling(_ map: [String: Node], _ field: String) -> SwarmDeployManifest {
        var deploy = SwarmDeployManifest()
        if let node = map["mode"], let mode = dialect.now(node, "\(field).mode") {
            switch mode {
            case "global": deploy.global = true
            case "replicated": break
            default: reader.fail(.invalidValue, node, "\(field).mode", "unknown mode '\(mode)'; expected replicated or global")
            }
        }
        if let node = map["endpoint_mode"], let mode = dialect.now(node, "\(field).endpoint_mode") {
            switch mode {
            case "dnsrr": deploy.dnsRoundRobin = true
            case "vip": break
            default: reader.fail(.invalidValue, node, "\(field).endpoint_mode", "unknown endpoint mode '\(mode)'; expected vip or dnsrr")
            }
        }
        if let node = map["replicas"] {
            deploy.replicas = int(node, "\(field).replicas", range: 0...10_000)
            if deploy.global {
                reader.fail(.invalidValue, node, "\(field).replicas", "a global service runs one task per node; it takes no replicas")
            }
        }
        let placementKeys = KeyPolicy(supported: ["constraints", "preferences"], unsupported: ["max_replicas_per_node"])
        guard let node = map["placement"], let placement = dialect.keys(node, "\(field).placement", placementKeys) else { return deploy }
        for (index, item) in (placement["constraints"].flatMap { reader.sequence($0, "\(field).placement.constraints") } ?? []).enumerated() {
            let itemField = "\(field).placement.constraints[\(index)]"
            guard let constraint = dialect.now(item, itemField) else { continue }
            guard SwarmServiceDeploy.isValidConstraint(constraint) else {
                reader.fail(
                    .invalidValue, item, itemField,
                    "'\(constraint)' is not a placement constraint; write KEY==VALUE or KEY!=VALUE (node.role==worker, node.labels.zone!=b)")
                continue
            }
            deploy.constraints.append(constraint)
        }
        for (index, item) in (placement["preferences"].flatMap { reader.sequence($0, "\(field).placement.preferences") } ?? []).enumerated() {
            let itemField = "\(field).placement.preferences[\(index)]"
            guard let preference = dialect.keys(item, itemField, KeyPolicy(supported: ["spread"])),
                let spreadNode = reader.required(preference, "spread", itemField, in: item),
                let spread = dialect.now(spreadNode, "\(itemField).spread")
            else { continue }
            deploy.preferences.append(spread)
        }
        return deploy
    }
}
