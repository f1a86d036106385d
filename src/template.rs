//! `rotation-doctor template`: the rotations a CloudFormation template (or
//! a Terraform plan, `terraform show -json`) describes, diagnosed before it
//! is deployed. The template is the second
//! source of `Facts` (rotation_doctor_checks::template); from the facts on,
//! this is `diagnose`: the same checks, the same reports, the same exit
//! code, with each finding located at its line of the template.

use rotation_doctor_checks::{diagnose, template};

use crate::cli::TemplateArgs;
use crate::error::UserError;
use crate::report;

pub fn template_command(args: TemplateArgs) -> Result<u8, UserError> {
    if !crate::aws::region_name_is_valid(&args.region) {
        return Err(UserError::new(format!(
            "--region {:?} is not a region name (such as us-east-1)",
            args.region
        )));
    }
    let options = template::LoadOptions {
        region: args.region.clone(),
        parameters: args.parameters.clone(),
        now: chrono::Utc::now(),
    };
    let mut targets = Vec::new();
    for path in &args.paths {
        let file = path.to_string_lossy().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| UserError::new(format!("cannot read {file}: {e}")))?;
        for loaded in template::load(&file, &bytes, &options).map_err(UserError::new)? {
            let mut diagnosis = diagnose(&loaded.facts);
            loaded.locate(&mut diagnosis.findings, &diagnosis.paths);
            // Fix plans change a live account; a template is changed by hand
            // at the line each finding points at.
            for finding in &mut diagnosis.findings {
                finding.fixes.clear();
            }
            let mut target = report::Target::new(&loaded.facts, diagnosis);
            target.conclude_again();
            targets.push(target);
        }
    }
    crate::accept(&mut targets, &args.accept)?;
    crate::print_report(
        &targets,
        crate::output_format(args.view.output),
        None,
        crate::table_options(&args.view),
    );
    Ok(args.gate.exit_code(&targets))
}
