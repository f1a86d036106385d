//! Templates written from the CloudFormation documentation, loaded into
//! facts and diagnosed.
