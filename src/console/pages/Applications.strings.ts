import type { Strings } from '../strings-bundle.ts';

const en = {
  applicationsNav: 'Applications',
  appsTitle: 'Applications',
  appsIntro: 'An application is a repository or service you scan. Its scans and findings belong to it.',
  appsList: 'Applications of the organization',
  appsNone: 'No applications yet.',
  appsNoneCreate: 'No applications yet. Add the first one to start scanning it.',
  appsNew: 'Add application',
  appsNewTitle: 'Add an application',
  appsEditTitle: 'Edit application: {{name}}',
  appsEdit: 'Edit',
  appsEditLabel: 'Edit {{name}}',
  appsDelete: 'Delete',
  appsDeleteLabel: 'Delete {{name}}',
  appsDeleteTitle: 'Delete application: {{name}}',
  appsDeleteConfirm:
    'Delete {{name}}? Its scans and their findings, comments and remediations are deleted with it. This cannot be undone.',
  appsDeleteAction: 'Delete application',
  appsName: 'Name',
  appsNameHelp: 'Up to 100 characters, unique in the organization.',
  appsRepositoryUrl: 'Repository URL',
  appsRepositoryUrlHelp:
    'An http or https address, e.g. https://github.com/acme/web. It is only shown, never fetched.',
  appsRepositoryUrlInvalid: 'Enter an http or https address without a user name or password.',
  appsDescription: 'Description',
  appsCreated: 'Created',
  appsSave: 'Save',
  appsAdd: 'Add',
  appsNameTaken: 'An application with this name already exists.',
  appsCreatedNotice: 'Application {{name}} added.',
  appsUpdatedNotice: 'Application {{name}} saved.',
  appsDeletedNotice: 'Application {{name}} deleted, with its scans and findings.',
  appsReadOnly:
    'You can see the applications. Adding and editing them needs the applications:manage permission.',
  appsNoDelete: 'Deleting applications needs the applications:delete permission.',
  appsScans: 'Scans',
  appsScansLabel: 'Scans of {{name}}',
};

const es: typeof en = {
  applicationsNav: 'Aplicaciones',
  appsTitle: 'Aplicaciones',
  appsIntro:
    'Una aplicación es un repositorio o servicio que analizas. Sus análisis y hallazgos le pertenecen.',
  appsList: 'Aplicaciones de la organización',
  appsNone: 'Aún no hay aplicaciones.',
  appsNoneCreate: 'Aún no hay aplicaciones. Añade la primera para empezar a analizarla.',
  appsNew: 'Añadir aplicación',
  appsNewTitle: 'Añadir una aplicación',
  appsEditTitle: 'Editar aplicación: {{name}}',
  appsEdit: 'Editar',
  appsEditLabel: 'Editar {{name}}',
  appsDelete: 'Eliminar',
  appsDeleteLabel: 'Eliminar {{name}}',
  appsDeleteTitle: 'Eliminar aplicación: {{name}}',
  appsDeleteConfirm:
    '¿Eliminar {{name}}? Sus análisis y los hallazgos, comentarios y correcciones de estos se eliminan con ella. No se puede deshacer.',
  appsDeleteAction: 'Eliminar aplicación',
  appsName: 'Nombre',
  appsNameHelp: 'Hasta 100 caracteres, único en la organización.',
  appsRepositoryUrl: 'URL del repositorio',
  appsRepositoryUrlHelp:
    'Una dirección http o https, p. ej. https://github.com/acme/web. Solo se muestra; nunca se consulta.',
  appsRepositoryUrlInvalid: 'Escribe una dirección http o https sin usuario ni contraseña.',
  appsDescription: 'Descripción',
  appsCreated: 'Creada',
  appsSave: 'Guardar',
  appsAdd: 'Añadir',
  appsNameTaken: 'Ya existe una aplicación con este nombre.',
  appsCreatedNotice: 'Aplicación {{name}} añadida.',
  appsUpdatedNotice: 'Aplicación {{name}} guardada.',
  appsDeletedNotice: 'Aplicación {{name}} eliminada, con sus análisis y hallazgos.',
  appsReadOnly:
    'Puedes ver las aplicaciones. Para añadirlas y editarlas hace falta el permiso applications:manage.',
  appsNoDelete: 'Para eliminar aplicaciones hace falta el permiso applications:delete.',
  appsScans: 'Análisis',
  appsScansLabel: 'Análisis de {{name}}',
};

export const applicationsStrings: Strings<typeof en> = { en, es };
