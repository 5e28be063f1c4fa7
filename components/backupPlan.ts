// The backup rules as pure data (no Pulumi import): which volumes, when, how long, and the database's retention.
//
// AWS Backup, not Data Lifecycle Manager. Both take daily EBS snapshots of volumes selected by tag and expire them
// by age, and neither costs more than the snapshot storage. AWS Backup was chosen because its jobs report to
// CloudWatch (NumberOfBackupJobsFailed/Aborted per vault: the alarms in monitoringPlan.ts page when a night's
// snapshot did not happen, DLM has no per-policy failure alarm of that kind), the recovery points sit in a vault
// that `pulumi destroy` leaves in place (retainOnDelete) and that can later get a vault lock or a copy to another
// region or account without changing the selection, and the same console and API restore them.
//
// Consistency across the three replicas: each brick's snapshot is crash-consistent for that one volume (EBS takes
// every block of it at one point in time; XFS's journal makes the filesystem mountable, as after a power cut). The
// three snapshots are NOT taken at the same instant: AWS Backup starts one job per volume within the start window,
// seconds to minutes apart, and writes between them land in some snapshots and not in others. That is acceptable
// because every brick is a full replica of the volume (replica 3): a restore needs ONE brick's snapshot, never a
// set. What to choose: the brick of a node that was in sync when it was taken (its HealPending was 0 on the
// dashboard around the snapshot time); a brick whose node was down or behind is older than the others, and its
// `trusted.afr.*` xattrs name pending changes it never received. Restoring that one brick into a fresh cluster
// still gives a consistent volume as of the moment that brick was last in sync. Nothing here quiesces WordPress,
// so an upload being written at the snapshot instant may be cut short in it (the database backup is separate and
// at another instant: the restore is crash-consistent, not application-consistent).

/** Tag key on every brick volume that the backup selection matches. */
export const BACKUP_TAG_KEY = "ha-wordpress:backup";

/** RDS keeps automated backups at most 35 days; the bricks keep the same, so every restore point has a database. */
export const MAX_RETENTION_DAYS = 35;

/**
 * The tag value of a cluster's bricks: unique per project, stack and cluster, because a tag selection matches every
 * volume of the account and region that carries it (a dev stack must not back up prod's bricks, or the reverse).
 */
export function brickBackupTagValue(project: string, stack: string, cluster: string): string {
    const value = `${project}/${stack}/${cluster}`;
    if (!/^[A-Za-z0-9 +\-=._:/@]{1,256}$/.test(value))
        throw new Error(`brick backup tag value '${value}' has characters AWS tags do not allow`);
    return value;
}

/** Checks a retention in days (1..35) and returns it. */
export function checkRetentionDays(days: number): number {
    if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
        throw new Error(
            `backupRetentionDays must be a whole number of days between 1 and ${MAX_RETENTION_DAYS} (RDS's limit for automated backups), got ${days}`,
        );
    }
    return days;
}

export interface BrickBackupRule {
    ruleName: string;
    /** AWS Backup cron (UTC): minute hour day-of-month month day-of-week year. */
    schedule: string;
    scheduleExpressionTimezone: string;
    /** Minutes after the scheduled time a job may start (AWS's minimum is 60). */
    startWindow: number;
    /** Minutes a started job may run. */
    completionWindow: number;
    /** Days a recovery point is kept. */
    deleteAfter: number;
}

/**
 * Daily at 05:00 UTC: after the database's backup window (03:00-04:00, WordPressTier) and away from the site's
 * peak in most time zones. The first snapshot of a brick copies its used blocks; each later one only the changed
 * blocks (incremental), which is what makes daily snapshots cheap.
 */
export function brickBackupRule(retentionDays: number): BrickBackupRule {
    return {
        ruleName: "daily-bricks",
        schedule: "cron(0 5 * * ? *)",
        scheduleExpressionTimezone: "Etc/UTC",
        startWindow: 60,
        completionWindow: 240,
        deleteAfter: checkRetentionDays(retentionDays),
    };
}

/** The backup selection: EBS volumes only, and only those carrying the cluster's tag (both must hold: AND). */
export function brickSelection(
    partition: string,
    tagValue: string,
): { resources: string[]; conditions: { key: string; value: string }[] } {
    return {
        resources: [`arn:${partition}:ec2:*:*:volume/*`],
        conditions: [{ key: `aws:ResourceTag/${BACKUP_TAG_KEY}`, value: tagValue }],
    };
}

/** Trust policy of AWS Backup's role, and the AWS managed policies it needs to snapshot and to restore. */
export function backupServiceRole(partition: string): { assumeRolePolicy: object; managedPolicyArns: string[] } {
    return {
        assumeRolePolicy: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Principal: { Service: "backup.amazonaws.com" } }],
        },
        managedPolicyArns: [
            `arn:${partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup`,
            `arn:${partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores`,
        ],
    };
}
