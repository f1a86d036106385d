//! `rotation-doctor template`: the rotations a CloudFormation template (or
//! a Terraform plan, `terraform show -json`) describes, diagnosed before it
//! is deployed. The template is the second
//! source of `Facts` (rotation_doctor_checks::template); from the facts on,
//! this is `diagnose`: the same checks, the same reports, the same exit
//! code, with each finding located at its line of the template.
//!
//! With `--live`, the existing resources the template names by id are
//! read from the account (`collect::read_existing`) and merged with what
//! it creates (`template::Account`), before the facts are made.

use rotation_doctor_checks::template::{Account, TemplateTarget, Wanted};
use rotation_doctor_checks::{diagnose, template};

use crate::cli::TemplateArgs;
use crate::error::UserError;
use crate::report;

pub fn template_command(args: TemplateArgs) -> Result<u8, UserError> {
    if let Some(region) = &args.region {
        if !crate::aws::region_name_is_valid(region) {
            return Err(UserError::new(format!(
                "--region {region:?} is not a region name (such as us-east-1)"
            )));
        }
    }
    let mut live = if args.live {
        Some(LiveAccount::connect(&args)?)
    } else {
        None
    };
    let region = match (&live, &args.region) {
        (Some(live), _) => live.connection.clients.region().to_string(),
        (None, Some(region)) => region.clone(),
        (None, None) => "us-east-1".to_string(),
    };
    let options = template::LoadOptions {
        region,
        parameters: args.parameters.clone(),
        now: chrono::Utc::now(),
        account: None,
    };
    let mut targets = Vec::new();
    for path in &args.paths {
        let file = path.to_string_lossy().to_string();
        let bytes =
            std::fs::read(path).map_err(|e| UserError::new(format!("cannot read {file}: {e}")))?;
        let loaded = match &mut live {
            Some(live) => live.load(&file, &bytes, &options)?,
            None => template::load(&file, &bytes, &options).map_err(UserError::new)?,
        };
        for loaded in loaded {
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

/// More rounds than a template needs: a database names its subnets and
/// groups, which name their VPC, which is read whole.
const MAX_LIVE_ROUNDS: usize = 6;

/// `--live`: the account, and what was read from it so far (shared by
/// every template of the run).
struct LiveAccount {
    connection: crate::Live,
    session: crate::collect::Session,
    account: Account,
}

impl LiveAccount {
    fn connect(args: &TemplateArgs) -> Result<LiveAccount, UserError> {
        let connection = crate::Live::connect(&args.aws())?;
        let session = crate::collect::Session::new(
            connection.clients.clone(),
            std::time::Duration::ZERO,
            false,
        );
        let account = Account::new(connection.clients.region());
        Ok(LiveAccount {
            connection,
            session,
            account,
        })
    }

    /// Loads the template, reads what its facts want from the account, and
    /// loads it again, until they want nothing new.
    fn load(
        &mut self,
        file: &str,
        bytes: &[u8],
        options: &template::LoadOptions,
    ) -> Result<Vec<TemplateTarget>, UserError> {
        let mut round = 0;
        loop {
            let options = template::LoadOptions {
                account: Some(self.account.clone()),
                ..options.clone()
            };
            let targets = template::load(file, bytes, &options).map_err(UserError::new)?;
            let mut wanted = Wanted::default();
            for target in &targets {
                wanted.extend(&target.wanted);
            }
            let wanted = wanted.without(&self.account.looked_up);
            round += 1;
            if wanted.is_empty() || round == MAX_LIVE_ROUNDS {
                return Ok(targets);
            }
            self.connection
                .runtime
                .block_on(crate::collect::read_existing(
                    &self.session,
                    &wanted,
                    &mut self.account,
                ));
        }
    }
}
