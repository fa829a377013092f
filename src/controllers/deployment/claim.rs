//! Which ReplicaSets of the namespace belong to the deployment (upstream
//! getReplicaSetsForDeployment / ClaimReplicaSets).

use super::{Action, Ctx, owner_reference};
use crate::controllers::owner::{self, Claim, Claimer};

/// Fills `ctx.rss` with the owned ReplicaSets, adopting and releasing on the way.
pub fn claim(ctx: &mut Ctx<'_>) {
    let spec = ctx.d.spec.clone().unwrap_or_default();
    let claimer = Claimer {
        meta: &ctx.d.metadata,
        selector: &spec.selector,
    };
    let mut owned = Vec::new();
    let mut actions = Vec::new();
    for rs in ctx.namespace_rss {
        let name = rs.metadata.name.clone().unwrap_or_default();
        match owner::claim(&claimer, &rs.metadata) {
            Claim::Owned => owned.push(rs.clone()),
            Claim::Adopt => {
                let mut adopted = rs.clone();
                adopted
                    .metadata
                    .owner_references
                    .get_or_insert_with(Vec::new)
                    .push(owner_reference(&ctx.d));
                owned.push(adopted);
                actions.push(Action::AdoptReplicaSet(name));
            }
            Claim::Release => actions.push(Action::ReleaseReplicaSet(name)),
            Claim::Ignore => {}
        }
    }
    ctx.rss = owned;
    ctx.plan.actions.extend(actions);
}
