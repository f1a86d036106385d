//! The names people know resources by: a subnet's `Name` tag, a security
//! group's name. Reports show them beside the ids (`sg-80c3… (lab-db-sg)`),
//! because an engineer recognises `lab-db-sg`, not `sg-80c3850805bba7188`.

use std::collections::BTreeMap;

use crate::facts::Facts;

/// Name by id, for every subnet and security group the facts hold that has
/// one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names(BTreeMap<String, String>);

impl Names {
    pub fn of(facts: &Facts) -> Names {
        let network = &facts.network;
        let subnets = network
            .subnets
            .present()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s.id.clone(), s.name.clone()?)));
        let groups = network
            .security_groups
            .present()
            .into_iter()
            .flatten()
            .filter_map(|g| Some((g.id.clone(), g.name.clone()?)));
        Names(
            subnets
                .chain(groups)
                .filter(|(id, name)| usable(id, Some(name)).is_some())
                .collect(),
        )
    }

    pub fn get(&self, id: &str) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }

    /// `id (name)`, or the id alone when it has no name.
    pub fn label(&self, id: &str) -> String {
        label(id, self.get(id))
    }

    /// Only the names of these ids (what a report mentions).
    pub fn restricted_to<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Names {
        Names(
            ids.into_iter()
                .filter_map(|id| Some((id.to_string(), self.get(id)?.to_string())))
                .collect(),
        )
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

/// A name worth showing beside `id`: not empty, not the id again.
pub fn usable<'a>(id: &str, name: Option<&'a str>) -> Option<&'a str> {
    name.filter(|name| !name.is_empty() && *name != id)
}

/// `id (name)`, or the id alone.
pub fn label(id: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{id} ({name})"),
        None => id.to_string(),
    }
}

/// Puts `(name)` after every id of `names` in running text that does not
/// have it yet: `add an inbound rule to sg-80c3…` reads `… sg-80c3… (lab-db-sg)`.
/// Only for prose: a command's arguments must stay bare ids.
pub fn label_ids_in(text: &str, names: &BTreeMap<String, String>) -> String {
    let is_id_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_id_char) {
        out.push_str(&rest[..start]);
        let word_end = rest[start..]
            .find(|c: char| !is_id_char(c))
            .map_or(rest.len(), |end| start + end);
        let word = &rest[start..word_end];
        out.push_str(word);
        rest = &rest[word_end..];
        if let Some(name) = names.get(word) {
            if !rest.starts_with(" (") {
                out.push_str(&format!(" ({name})"));
            }
        }
    }
    out.push_str(rest);
    out
}

impl Facts {
    /// The name of the subnet or security group with this id.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        let network = &self.network;
        let subnet = network
            .subnets
            .present()
            .into_iter()
            .flatten()
            .find(|s| s.id == id)
            .and_then(|s| s.name.as_deref());
        let group = || {
            network
                .security_groups
                .present()
                .into_iter()
                .flatten()
                .find(|g| g.id == id)
                .and_then(|g| g.name.as_deref())
        };
        usable(id, subnet.or_else(group))
    }

    /// `id (name)` for a subnet or security group; the id alone without a
    /// name.
    pub fn label(&self, id: &str) -> String {
        label(id, self.name_of(id))
    }

    /// Several ids labelled, comma-separated.
    pub fn labels<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> String {
        ids.into_iter()
            .map(|id| self.label(id))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn subnets_and_groups_are_labelled_with_their_names() {
        let facts = fixtures::lab();
        let names = Names::of(&facts);
        let group = facts.network.security_groups.present().unwrap()[0].clone();
        let name = group.name.clone().unwrap();
        assert_eq!(names.label(&group.id), format!("{} ({name})", group.id));
        assert_eq!(facts.label(&group.id), names.label(&group.id));
        assert_eq!(names.label("sg-unknown"), "sg-unknown");
        assert_eq!(facts.label("sg-unknown"), "sg-unknown");
    }

    #[test]
    fn ids_in_prose_get_their_names_once() {
        let names = BTreeMap::from([
            ("sg-1".to_string(), "db".to_string()),
            ("subnet-2".to_string(), "private-a".to_string()),
        ]);
        assert_eq!(
            label_ids_in(
                "rule on sg-1: tcp/3306 from sg-1 (db), in subnet-2.",
                &names
            ),
            "rule on sg-1 (db): tcp/3306 from sg-1 (db), in subnet-2 (private-a)."
        );
        // Part of a longer id is not the id.
        assert_eq!(label_ids_in("sg-10 and xsg-1", &names), "sg-10 and xsg-1");
        assert_eq!(label_ids_in("", &names), "");
    }

    #[test]
    fn an_empty_name_or_one_equal_to_the_id_is_no_name() {
        let mut facts = fixtures::lab();
        if let crate::Fact::Present(groups) = &mut facts.network.security_groups {
            groups[0].name = Some(String::new());
            let id = groups[0].id.clone();
            groups[1].name = Some(groups[1].id.clone());
            let other = groups[1].id.clone();
            let names = Names::of(&facts);
            assert_eq!(names.get(&id), None);
            assert_eq!(names.get(&other), None);
            assert_eq!(facts.label(&id), id);
        }
    }
}
