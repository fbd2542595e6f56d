//! The JSON Schema of scenario files, generated from the serde types, for editors
//! (`# yaml-language-server: $schema=…`). A test keeps `schema/scenario.json` in step.

use super::model::ScenarioDoc;

/// The schema as pretty JSON with a trailing newline.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(ScenarioDoc);
    let mut s = serde_json::to_string_pretty(&schema).expect("schemas always serialise");
    s.push('\n');
    s
}
