import type { ComplianceFramework } from '../../../contracts/reports.ts';

/** The sections of a compliance report, in the order the document has them. */
export const REPORT_SECTIONS = [
  'access_control',
  'provisioning',
  'security_events',
  'data_handling',
  'audit_log',
] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];

/**
 * Which of each framework's controls a section gives evidence for: the one table the reports
 * print under every section's "Controls" line. References are to SOC 2 (2017 Trust Services
 * Criteria, revised points of focus 2022), ISO/IEC 27001:2022 Annex A, the GDPR's articles, the
 * HIPAA Security Rule (45 CFR Part 164 Subpart C) and PCI DSS v4.0 requirements.
 */
export const FRAMEWORK_CONTROLS: Record<ComplianceFramework, Record<ReportSection, readonly string[]>> = {
  soc2: {
    access_control: [
      'CC6.1 Logical access security',
      'CC6.2 User registration and authorization',
      'CC6.3 Role-based access and least privilege',
    ],
    provisioning: ['CC6.2 Provisioning and removal of access', 'CC6.3 Changes to access'],
    security_events: [
      'CC7.2 Monitoring for anomalies and security events',
      'CC7.3 Evaluation of security events',
      'CC6.6 Restriction of access',
    ],
    data_handling: [
      'CC6.7 Restriction of data transmission and movement',
      'CC6.5 Disposal of data',
      'C1.2 Disposal of confidential information',
    ],
    audit_log: [
      'CC7.2 Monitoring of system components',
      'CC8.1 Authorized changes',
      'CC4.1 Monitoring activities',
    ],
  },
  iso27001: {
    access_control: [
      'A.5.15 Access control',
      'A.5.18 Access rights',
      'A.8.2 Privileged access rights',
      'A.8.5 Secure authentication',
    ],
    provisioning: ['A.5.16 Identity management', 'A.5.18 Access rights (provisioning, review, removal)'],
    security_events: [
      'A.8.16 Monitoring activities',
      'A.5.25 Assessment of information security events',
      'A.5.28 Collection of evidence',
    ],
    data_handling: [
      'A.8.10 Information deletion',
      'A.8.24 Use of cryptography',
      'A.5.33 Protection of records',
    ],
    audit_log: ['A.8.15 Logging', 'A.8.17 Clock synchronization', 'A.5.28 Collection of evidence'],
  },
  gdpr: {
    access_control: [
      'Art. 25 Data protection by design and by default',
      'Art. 32(1)(b) Confidentiality of processing systems',
    ],
    provisioning: ['Art. 5(1)(f) Integrity and confidentiality', 'Art. 32(4) Access only on instruction'],
    security_events: [
      'Art. 33 Notification of a personal data breach',
      'Art. 32(1)(d) Regular testing and evaluation',
    ],
    data_handling: [
      'Art. 5(1)(e) Storage limitation',
      'Art. 32(1)(a) Encryption',
      'Art. 20 Data portability',
    ],
    audit_log: ['Art. 30 Records of processing activities', 'Art. 5(2) Accountability'],
  },
  hipaa: {
    access_control: [
      '164.312(a)(1) Access control',
      '164.312(d) Person or entity authentication',
      '164.308(a)(4) Information access management',
    ],
    provisioning: ['164.308(a)(3)(ii)(B) Workforce clearance', '164.308(a)(3)(ii)(C) Termination procedures'],
    security_events: [
      '164.308(a)(6) Security incident procedures',
      '164.308(a)(1)(ii)(D) Information system activity review',
    ],
    data_handling: [
      '164.312(a)(2)(iv) Encryption and decryption',
      '164.310(d)(2)(i) Disposal',
      '164.308(a)(7)(ii)(A) Data backup plan',
    ],
    audit_log: ['164.312(b) Audit controls', '164.312(c)(1) Integrity'],
  },
  pci_dss: {
    access_control: [
      '7.2 Access assigned by job function and least privilege',
      '8.3 Strong authentication',
      '8.4 Multi-factor authentication',
    ],
    provisioning: [
      '8.2 User identification and account lifecycle',
      '8.2.6 Inactive accounts',
      '7.2.4 Review of user accounts',
    ],
    security_events: [
      '10.2 Audit logs capture security events',
      '10.4 Audit logs are reviewed',
      '12.10 Incident response',
    ],
    data_handling: [
      '3.1 Retention and disposal',
      '3.5 Protection of stored data (strong cryptography)',
      '3.6 Key management',
    ],
    audit_log: [
      '10.2 Audit log content',
      '10.3 Audit logs protected from modification',
      '10.5 Audit log history retained',
    ],
  },
};

/** A section's "Controls" line. */
export function controlsLine(framework: ComplianceFramework, section: ReportSection): string {
  return `Controls: ${FRAMEWORK_CONTROLS[framework][section].join('; ')}`;
}
