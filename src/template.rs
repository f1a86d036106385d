//! `rotation-doctor template`: the rotations a CloudFormation template (or
//! a Terraform plan, `terraform show -json`, or a CDK cloud assembly,
//! `cdk synth`'s output directory) describes, diagnosed before it is
//! deployed. The template is the second
//! source of `Facts` (rotation_doctor_checks::template); from the facts on,
//! this is `diagnose`: the same checks, the same reports, the same exit
//! code, with each finding located at its line of the template.
//!
//! With `--live`, the existing resources the template names by id are
//! read from the account (`collect::read_existing`) and merged with what
//! it creates (`template::Account`), before the facts are made.

use std::path::{Path, PathBuf};

use rotation_doctor_checks::diagnose;
use rotation_doctor_checks::template::{self, cdk, Account, LoadOptions, TemplateTarget, Wanted};

use crate::cli::TemplateArgs;
use crate::error::UserError;
use crate::report;

/// `AWS::Region` when neither `--region` nor a CDK stack's environment
/// names one.
const DEFAULT_REGION: &str = "us-east-1";

/// How deep CDK Stages may nest (a manifest naming its own directory
/// would otherwise be read forever).
const MAX_ASSEMBLY_DEPTH: usize = 8;

/// How a file becomes targets: [`template::load`], or for a stack of a
/// cloud assembly [`template::load_rotations`] (a stack may rotate nothing).
type Loader = fn(&str, &[u8], &LoadOptions) -> Result<Vec<TemplateTarget>, String>;

pub fn template_command(args: TemplateArgs) -> Result<u8, UserError> {
    if let Some(region) = &args.region {
        check_region(region, "--region")?;
    }
    let mut live = if args.live {
        Some(LiveAccount::connect(&args)?)
    } else {
        None
    };
    // With --live, the account's region is every stack's.
    let region = match (&live, &args.region) {
        (Some(live), _) => Some(live.connection.clients.region().to_string()),
        (None, region) => region.clone(),
    };
    let options = LoadOptions {
        region: region.clone().unwrap_or_else(|| DEFAULT_REGION.to_string()),
        parameters: args.parameters.clone(),
        now: chrono::Utc::now(),
        account: None,
    };
    let mut loaded = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            loaded.extend(load_assembly(path, region.as_deref(), &options, &mut live)?);
        } else {
            let file = path.to_string_lossy().to_string();
            let bytes = read(path)?;
            loaded.extend(load_with(
                &mut live,
                template::load,
                &file,
                &bytes,
                &options,
            )?);
        }
    }
    let mut targets = Vec::new();
    for loaded in loaded {
        let mut diagnosis = diagnose(&loaded.facts);
        loaded.locate(&mut diagnosis.findings, &diagnosis.paths);
        // Fix plans change a live account; a template is changed by hand
        // at the line each finding points at, as the remediation then says.
        for finding in &mut diagnosis.findings {
            if let Some(text) = template::remedy::remediation(finding) {
                finding.remediation = text;
            }
            finding.fixes.clear();
        }
        let mut target = report::Target::new(&loaded.facts, diagnosis);
        target.conclude_again();
        targets.push(target);
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

fn read(path: &Path) -> Result<Vec<u8>, UserError> {
    std::fs::read(path)
        .map_err(|e| UserError::new(format!("cannot read {}: {e}", path.to_string_lossy())))
}

fn check_region(region: &str, source: &str) -> Result<(), UserError> {
    if crate::aws::region_name_is_valid(region) {
        Ok(())
    } else {
        Err(UserError::new(format!(
            "{source} {region:?} is not a region name (such as us-east-1)"
        )))
    }
}

/// The rotations of every stack a CDK cloud assembly lists, its nested
/// assemblies' too. A stack that rotates no secret is passed over; an
/// assembly none of whose stacks rotates one is refused, as a template
/// would be.
fn load_assembly(
    directory: &Path,
    region: Option<&str>,
    options: &LoadOptions,
    live: &mut Option<LiveAccount>,
) -> Result<Vec<TemplateTarget>, UserError> {
    let name = directory.to_string_lossy().to_string();
    if !directory.join(cdk::MANIFEST_FILE).is_file() {
        return Err(UserError::new(format!(
            "{name} is a directory without {}, so not a CDK cloud assembly: pass the directory cdk synth writes (cdk.out) or template files",
            cdk::MANIFEST_FILE
        )));
    }
    let mut stacks = Vec::new();
    stacks_of(directory, 0, &mut stacks)?;
    let mut loaded = Vec::new();
    for (template_path, manifest_name, stack) in &stacks {
        let file = template_path.to_string_lossy().to_string();
        let bytes = read(template_path)?;
        let stack_options = stack_options(stack, manifest_name, region, options)?;
        loaded.extend(load_with(
            live,
            template::load_rotations,
            &file,
            &bytes,
            &stack_options,
        )?);
    }
    if loaded.is_empty() {
        let ids: Vec<&str> = stacks.iter().map(|(_, _, s)| s.id.as_str()).collect();
        return Err(UserError::new(match ids.is_empty() {
            true => format!("{name}: the cloud assembly lists no stack"),
            false => format!(
                "{name}: none of its stacks ({}) has an AWS::SecretsManager::RotationSchedule: it rotates no secret",
                ids.join(", ")
            ),
        }));
    }
    Ok(loaded)
}

/// The stacks of the assembly in `directory` and of the assemblies nested
/// in it, each with the path of its template and the name of its manifest.
fn stacks_of(
    directory: &Path,
    depth: usize,
    out: &mut Vec<(PathBuf, String, cdk::Stack)>,
) -> Result<(), UserError> {
    let manifest_path = directory.join(cdk::MANIFEST_FILE);
    let manifest_name = manifest_path.to_string_lossy().to_string();
    if depth > MAX_ASSEMBLY_DEPTH {
        return Err(UserError::new(format!(
            "{manifest_name}: CDK stages nest deeper than {MAX_ASSEMBLY_DEPTH} assemblies: the manifests name each other"
        )));
    }
    let bytes = read(&manifest_path)?;
    for artifact in cdk::manifest(&manifest_name, &bytes).map_err(UserError::new)? {
        match artifact {
            cdk::Artifact::Stack(stack) => {
                let template_path = directory.join(&stack.template_file);
                if !template_path.is_file() {
                    return Err(UserError::new(format!(
                        "{manifest_name}: stack {}'s template {} is missing: run cdk synth again",
                        stack.id,
                        template_path.to_string_lossy()
                    )));
                }
                out.push((template_path, manifest_name.clone(), stack));
            }
            cdk::Artifact::Assembly {
                id,
                directory: nested,
            } => {
                let nested = directory.join(nested);
                if !nested.join(cdk::MANIFEST_FILE).is_file() {
                    return Err(UserError::new(format!(
                        "{manifest_name}: nested assembly {id} has no {}: run cdk synth again",
                        nested.join(cdk::MANIFEST_FILE).to_string_lossy()
                    )));
                }
                stacks_of(&nested, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

/// A stack's `AWS::StackName`, `AWS::AccountId` and `AWS::Region`: what
/// the command line says (`--region` or --live's account, `--parameter`), else what CDK
/// synthesized the stack for, else the defaults.
fn stack_options(
    stack: &cdk::Stack,
    manifest_name: &str,
    region: Option<&str>,
    options: &LoadOptions,
) -> Result<LoadOptions, UserError> {
    let region = match (region, &stack.region) {
        (Some(region), _) => region.to_string(),
        (None, Some(region)) => {
            let source = format!("{manifest_name}: stack {}'s environment region", stack.id);
            check_region(region, &source)?;
            region.clone()
        }
        (None, None) => DEFAULT_REGION.to_string(),
    };
    // The last value of a parameter counts: the command line's come after.
    let mut parameters = vec![("AWS::StackName".to_string(), stack.stack_name.clone())];
    if let Some(account) = &stack.account {
        parameters.push(("AWS::AccountId".to_string(), account.clone()));
    }
    parameters.extend(options.parameters.iter().cloned());
    Ok(LoadOptions {
        region,
        parameters,
        now: options.now,
        account: None,
    })
}

/// The targets of one file, with what --live reads of the account.
fn load_with(
    live: &mut Option<LiveAccount>,
    loader: Loader,
    file: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Vec<TemplateTarget>, UserError> {
    match live {
        Some(live) => live.load(loader, file, bytes, options),
        None => loader(file, bytes, options).map_err(UserError::new),
    }
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
        loader: Loader,
        file: &str,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Vec<TemplateTarget>, UserError> {
        let mut round = 0;
        loop {
            let options = LoadOptions {
                account: Some(self.account.clone()),
                ..options.clone()
            };
            let targets = loader(file, bytes, &options).map_err(UserError::new)?;
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
